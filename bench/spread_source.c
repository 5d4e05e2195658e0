// Preloaded into a load generator (wrk, openssl s_time), so that its connections to
// 127.0.0.1 come from 1,000 addresses of 127.1.0.0/16 in turn: the responder bounds what
// one address may do (connections, and TLS handshakes at 4 a second), as it should against
// a flood from one host; a benchmark of its handshake rate needs many clients, as a mesh
// has. Loopback only.
//   LD_PRELOAD=spread_source.so wrk ...
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kCount = 1000 };  // under the responder's 1,024 tracked clients

typedef int Connect(int, __CONST_SOCKADDR_ARG, socklen_t);

// glibc declares connect with a transparent union under _GNU_SOURCE: take it the same way.
int connect(int fd, __CONST_SOCKADDR_ARG address, socklen_t len) {
  static Connect* real_connect;
  static unsigned next;
  if (!real_connect) {
    *(void**)&real_connect = dlsym(RTLD_NEXT, "connect");
    next = (unsigned)getpid() * 617u;  // clients started together do not move in step
  }
  const struct sockaddr* to = address.__sockaddr__;
  const struct sockaddr_in* in = (const struct sockaddr_in*)to;
  if (to && to->sa_family == AF_INET && len >= sizeof *in &&
      in->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
    int one = 1;  // the port is picked at connect(), where 4-tuples, not ports, must differ
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in from = {.sin_family = AF_INET};
    unsigned n = next++ % kCount;
    from.sin_addr.s_addr = htonl(0x7f010000u + (n / 250) * 256 + n % 250 + 1);  // 127.1.x.y
    bind(fd, (struct sockaddr*)&from, sizeof from);  // on failure, the kernel picks as usual
  }
  return real_connect(fd, address, len);
}
