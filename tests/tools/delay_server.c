/* An HTTP/1.1 server whose first byte comes exactly D ms after the request arrived: the
 * accuracy tests' peer with a known hold.
 *
 *   delay_server [-a ADDR] [-p PORT] [-d MS] [-t SECONDS] [-f PRIO] [-u]
 *
 * Listens on ADDR:PORT (default 127.0.0.1, port 0 = any) and prints "ready PORT". Each
 * connection has its own thread, so concurrent ones do not delay each other. A thread
 * reads the request up to its blank line, sleeps to the absolute deadline arrival + D on
 * CLOCK_MONOTONIC, and writes the whole response in one write(): status line,
 * Content-Length, "Server-Timing: hold;dur=<its measured hold, ms>", Connection: close
 * and a small body. D is -d (default 0), or per request the path /delay/<ms> (a decimal,
 * e.g. /delay/10 or /delay/0.5; a query string after it is ignored).
 *
 * The arrival is the kernel's receive stamp of the request's last segment (SO_TIMESTAMPING,
 * software), so a late wake-up of this thread does not move the deadline; with -u, or when
 * the kernel gave no stamp, it is the time the read returned. The hold is the time from
 * that arrival to just before the write. Every response prints one line on stdout:
 *   hold <ms, 3 decimals> delay <D ms> arrival kernel|user path <path>
 * -f PRIO runs the server with SCHED_FIFO at PRIO (root), so that load on this machine
 * starves the prober under test rather than this stand-in for a remote peer. -t ends it
 * after SECONDS (default 600). SIGINT/SIGTERM end it; it then prints "served N dropped M"
 * on stderr (dropped: connections refused at the bound of MAX_CONNECTIONS threads, or
 * requests over MAX_REQUEST bytes). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNECTIONS = 512, MAX_REQUEST = 8192, RECV_TIMEOUT_S = 10 };

static double default_delay_ms;
static int user_arrival;
static atomic_int live_connections;
static atomic_long served, dropped;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t ns_of(struct timespec ts) {
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ns_of(ts);
}

/* REALTIME minus MONOTONIC, read between two MONOTONIC reads: kernel stamps are REALTIME. */
static int64_t realtime_offset_ns(void) {
  int64_t a = now_ns(CLOCK_MONOTONIC);
  int64_t r = now_ns(CLOCK_REALTIME);
  int64_t b = now_ns(CLOCK_MONOTONIC);
  return r - (a + (b - a) / 2);
}

/* One recvmsg with the kernel's receive stamp, converted to MONOTONIC (0 if none). */
static ssize_t read_stamped(int fd, char* buf, size_t len, int64_t* stamp_mono) {
  char control[256];
  struct iovec iov = {buf, len};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, 0);
  *stamp_mono = 0;
  if (n <= 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
      struct timespec ts[3];
      memcpy(ts, CMSG_DATA(c), sizeof ts);
      if (ts[0].tv_sec || ts[0].tv_nsec) *stamp_mono = ns_of(ts[0]) - realtime_offset_ns();
    }
  }
  return n;
}

/* D from /delay/<ms>, else the default; negative or absurd values are the default too. */
static double delay_of(const char* path) {
  const char* prefix = "/delay/";
  if (strncmp(path, prefix, strlen(prefix)) != 0) return default_delay_ms;
  char* end;
  double d = strtod(path + strlen(prefix), &end);
  if (end == path + strlen(prefix) || d < 0 || d > 60000) return default_delay_ms;
  return d;
}

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  char req[MAX_REQUEST + 1];
  size_t have = 0;
  int64_t arrival = 0, stamp = 0;
  const char* head_end = NULL;
  while (!head_end) {
    if (have == MAX_REQUEST) {
      atomic_fetch_add(&dropped, 1);
      goto done;
    }
    ssize_t n = read_stamped(fd, req + have, MAX_REQUEST - have, &stamp);
    if (n <= 0) goto done;
    arrival = (!user_arrival && stamp) ? stamp : now_ns(CLOCK_MONOTONIC);
    have += (size_t)n;
    req[have] = 0;
    head_end = strstr(req, "\r\n\r\n");
  }
  char path[256] = "/";
  sscanf(req, "%*s %255s", path);
  int kernel = !user_arrival && stamp;
  double d = delay_of(path);
  int64_t deadline = arrival + (int64_t)(d * 1e6);
  struct timespec until = {deadline / 1000000000, deadline % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
  }
  static const char body[] = "delayed\n";
  char resp[512];
  int64_t hold = now_ns(CLOCK_MONOTONIC) - arrival;
  int len = snprintf(resp, sizeof resp,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Server-Timing: hold;dur=%.3f\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, hold / 1e6, body);
  if (write(fd, resp, (size_t)len) == len) {
    atomic_fetch_add(&served, 1);
    pthread_mutex_lock(&out_lock);
    printf("hold %.3f delay %.3f arrival %s path %s\n", hold / 1e6, d, kernel ? "kernel" : "user",
           path);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
  }
  shutdown(fd, SHUT_WR);
  /* Wait for the client's close, so the client (not this side) holds TIME_WAIT. */
  while (read(fd, req, sizeof req) > 0) {
  }
done:
  close(fd);
  atomic_fetch_sub(&live_connections, 1);
  return NULL;
}

static void on_signal(int sig) {
  (void)sig;
  char line[96];
  int n = snprintf(line, sizeof line, "served %ld dropped %ld\n", atomic_load(&served),
                   atomic_load(&dropped));
  if (write(2, line, (size_t)n) < 0) _exit(1);
  _exit(0);
}

int main(int argc, char** argv) {
  const char* addr = "127.0.0.1";
  int port = 0, fifo = 0, opt;
  double seconds = 600;
  while ((opt = getopt(argc, argv, "a:p:d:t:f:u")) != -1) {
    switch (opt) {
      case 'a':
        addr = optarg;
        break;
      case 'p':
        port = atoi(optarg);
        break;
      case 'd':
        default_delay_ms = atof(optarg);
        break;
      case 't':
        seconds = atof(optarg);
        break;
      case 'f':
        fifo = atoi(optarg);
        break;
      case 'u':
        user_arrival = 1;
        break;
      default:
        fprintf(stderr, "usage: %s [-a ADDR] [-p PORT] [-d MS] [-t SECONDS] [-f PRIO] [-u]\n",
                argv[0]);
        return 64;
    }
  }
  /* Timer slack (50 us by default) would make every deadline late by up to that. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (fifo > 0) {
    struct sched_param sp = {.sched_priority = fifo};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
      perror("sched_setscheduler");
      return 1;
    }
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGALRM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  alarm((unsigned)(seconds + 0.999));

  int v6 = strchr(addr, ':') != NULL;
  int lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* Receive stamps on the listener, inherited by accepted sockets; it also holds the
   * kernel's stamping on for as long as the server runs. */
  int ts_flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE;
  setsockopt(lfd, SOL_SOCKET, SO_TIMESTAMPING, &ts_flags, sizeof ts_flags);
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  if (v6) {
    struct sockaddr_in6* s6 = (struct sockaddr_in6*)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1) return 64;
    sl = sizeof *s6;
  } else {
    struct sockaddr_in* s4 = (struct sockaddr_in*)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1) return 64;
    sl = sizeof *s4;
  }
  if (bind(lfd, (struct sockaddr*)&ss, sl) != 0 || listen(lfd, 1024) != 0) {
    perror("bind/listen");
    return 1;
  }
  getsockname(lfd, (struct sockaddr*)&ss, &sl);
  int bound =
      ntohs(v6 ? ((struct sockaddr_in6*)&ss)->sin6_port : ((struct sockaddr_in*)&ss)->sin_port);
  printf("ready %d\n", bound);
  fflush(stdout);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024 + MAX_REQUEST);
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
      perror("accept");
      return 1;
    }
    struct timeval tv = {RECV_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (atomic_fetch_add(&live_connections, 1) >= MAX_CONNECTIONS) {
      atomic_fetch_sub(&live_connections, 1);
      atomic_fetch_add(&dropped, 1);
      close(fd);
      continue;
    }
    pthread_t t;
    if (pthread_create(&t, &attr, serve, (void*)(intptr_t)fd) != 0) {
      atomic_fetch_sub(&live_connections, 1);
      atomic_fetch_add(&dropped, 1);
      close(fd);
    }
  }
}
