// The floor pingmesh's prober is measured against: a minimal raw-epoll HTTP prober doing
// what pingmesh does for one plain-http probe of an IP literal, and nothing else. Per
// probe: a non-blocking socket, TCP_NODELAY, connect, TCP_INFO once connected (pingmesh
// reports tcpi_rtt), one GET with Connection: close (pingmesh's bytes), read until the
// response is complete (Content-Length, as pingmesh's parser) or the peer closes, then
// close. Each phase is stamped with CLOCK_MONOTONIC on the first line of its event.
//   raw_prober [-s SECONDS] URL...   each URL every second, spread over the second with
//                                    pingmesh's schedule (first at 1 s, +-0.5% jitter)
//   raw_prober -b [-s SECONDS] URL   one URL back to back, as fast as it answers
//   -t   the kernel timing pingmesh does, and no more: SO_TIMESTAMPING once connected (RX
//        and TX software stamps, OPT_ID), the request's send stamp from the error queue
//        right after the send, a one-byte MSG_PEEK for the first segment's arrival before
//        the read (with its stamp), and TCP_INFO after the answer's first read (how many
//        segments came: was the stamp merged?). First is then the kernel's, send to arrival.
// Prints one line: probes, failures, seconds, rate, and the p50 TCP, First and Total in us.
// URLs: http://IPv4:PORT/path or http://[IPv6]:PORT/path (no DNS, no TLS).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxTargets = 100000, kMaxSamples = 1 << 21, kHeadBytes = 1024 };
static const uint64_t kSecond = 1000000000ull;
static const uint64_t kTimeoutNs = 10 * 1000000000ull;  // pingmesh's default whole-probe limit

typedef enum { IDLE, CONNECTING, WAITING } Phase;

typedef struct {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  char request[512];
  size_t request_len;
  Phase phase;
  int fd;
  uint64_t due, start, tcp_done, first_byte;
  uint32_t tcpi_rtt_us;
  uint64_t sent_stamp, first_stamp;  // -t: the kernel's (CLOCK_REALTIME ns)
  char head[kHeadBytes];             // the response's first bytes, until the end of the headers
  size_t head_len;
  long body_left;  // -1 until the headers are read; then bytes of body still to come
  int status;
} Target;

static Target* targets;
static size_t n_targets;
static int epfd;
static uint64_t ok_count, failed_count;
static uint32_t *tcp_us, *first_us, *total_us;
static size_t n_samples;
static unsigned rng = 12345;
static int timestamps;  // -t

enum {
  kRxStamps = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE,
  kTxStamps = kRxStamps | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
              SOF_TIMESTAMPING_OPT_TSONLY | (1 << 16) /* OPT_ID_TCP */
};

// The software stamp of a recvmsg's control messages (CLOCK_REALTIME ns), 0 if none.
static uint64_t stamp_of(struct msghdr* msg) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING_OLD) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return (uint64_t)ts.tv_sec * kSecond + (uint64_t)ts.tv_nsec;
    }
  }
  return 0;
}

static uint64_t recv_stamp(int fd, void* buf, size_t len, int flags, ssize_t* n) {
  char control[256];
  struct iovec iov = {buf, len};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  *n = recvmsg(fd, &msg, flags | MSG_DONTWAIT);
  return *n >= 0 ? stamp_of(&msg) : 0;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * kSecond + (uint64_t)ts.tv_nsec;
}

// pingmesh's next(): due + delay * (1 + uniform(-0.5%, +0.5%)), on a fixed-rate grid.
static uint64_t next_due(uint64_t due) {
  rng = rng * 1103515245u + 12345u;
  double j = ((double)(rng >> 8) / (double)(1u << 24)) * 0.01 - 0.005;
  return due + (uint64_t)((double)kSecond * (1.0 + j));
}

static int parse_url(const char* url, Target* t) {
  if (strncmp(url, "http://", 7) != 0) return -1;
  const char* host = url + 7;
  const char* path = strchr(host, '/');
  if (!path) path = host + strlen(host);
  char authority[128];
  size_t alen = (size_t)(path - host);
  if (alen == 0 || alen >= sizeof authority) return -1;
  memcpy(authority, host, alen);
  authority[alen] = 0;
  char ip[64];
  const char* port;
  if (authority[0] == '[') {
    char* end = strchr(authority, ']');
    if (!end || end[1] != ':' || (size_t)(end - authority - 1) >= sizeof ip) return -1;
    memcpy(ip, authority + 1, (size_t)(end - authority - 1));
    ip[end - authority - 1] = 0;
    port = end + 2;
  } else {
    char* colon = strrchr(authority, ':');
    if (!colon || (size_t)(colon - authority) >= sizeof ip) return -1;
    memcpy(ip, authority, (size_t)(colon - authority));
    ip[colon - authority] = 0;
    port = colon + 1;
  }
  int p = atoi(port);
  if (p <= 0 || p > 65535) return -1;
  memset(&t->addr, 0, sizeof t->addr);
  struct sockaddr_in* a4 = (struct sockaddr_in*)&t->addr;
  struct sockaddr_in6* a6 = (struct sockaddr_in6*)&t->addr;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)p);
    t->addr_len = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)p);
    t->addr_len = sizeof *a6;
  } else {
    return -1;
  }
  int n = snprintf(t->request, sizeof t->request,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pingmesh/raw\r\nAccept: "
                   "*/*\r\nConnection: close\r\n\r\n",
                   *path ? path : "/", authority);
  if (n <= 0 || (size_t)n >= sizeof t->request) return -1;
  t->request_len = (size_t)n;
  t->fd = -1;
  return 0;
}

static void finish(Target* t, int ok, uint64_t now) {
  if (t->fd >= 0) close(t->fd);  // also leaves the epoll set
  t->fd = -1;
  t->phase = IDLE;
  if (!ok) {
    ++failed_count;
    return;
  }
  ++ok_count;
  if (n_samples < kMaxSamples) {
    tcp_us[n_samples] = (uint32_t)((t->tcp_done - t->start) / 1000);
    first_us[n_samples] =
        (uint32_t)((timestamps ? t->first_stamp - t->sent_stamp : t->first_byte - t->tcp_done) /
                   1000);
    total_us[n_samples] = (uint32_t)((now - t->start) / 1000);
    ++n_samples;
  }
}

static void start_probe(Target* t, uint64_t now) {
  t->start = now;
  t->head_len = 0;
  t->body_left = -1;
  t->first_byte = 0;
  t->sent_stamp = t->first_stamp = 0;
  t->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (t->fd < 0) {
    finish(t, 0, now);
    return;
  }
  int one = 1;
  setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(t->fd, (struct sockaddr*)&t->addr, t->addr_len) != 0 && errno != EINPROGRESS) {
    finish(t, 0, now);
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = t};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, t->fd, &ev) != 0) {
    finish(t, 0, now);
    return;
  }
  t->phase = CONNECTING;
}

static void on_writable(Target* t, uint64_t now) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    finish(t, 0, now);
    return;
  }
  t->tcp_done = now;
  struct tcp_info info;
  len = sizeof info;
  t->tcpi_rtt_us = getsockopt(t->fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 ? info.tcpi_rtt : 0;
  if (timestamps) {
    int flags = kTxStamps;
    setsockopt(t->fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
  }
  if (send(t->fd, t->request, t->request_len, MSG_NOSIGNAL) != (ssize_t)t->request_len) {
    finish(t, 0, now);
    return;
  }
  if (timestamps) {
    ssize_t n;
    t->sent_stamp = recv_stamp(t->fd, NULL, 0, MSG_ERRQUEUE, &n);
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, t->fd, &ev) != 0) {
    finish(t, 0, now);
    return;
  }
  t->phase = WAITING;
}

// Reads the status line and Content-Length once the headers are in.
static int parse_head(Target* t, size_t end) {
  if (t->head_len < 12 || memcmp(t->head, "HTTP/1.", 7) != 0) return -1;
  t->status = atoi(t->head + 9);
  t->body_left = -2;  // no Content-Length: until the peer closes
  for (size_t i = 0; i + 16 < end; ++i) {
    if (t->head[i] == '\n' && strncasecmp(t->head + i + 1, "Content-Length:", 15) == 0) {
      t->body_left = atol(t->head + i + 16);
      break;
    }
  }
  return 0;
}

static void on_readable(Target* t, uint64_t now) {
  char buf[16384];
  for (;;) {
    ssize_t n;
    if (timestamps && !t->first_byte) {
      char byte;
      t->first_stamp = recv_stamp(t->fd, &byte, 1, MSG_PEEK, &n);
      recv_stamp(t->fd, buf, sizeof buf, 0, &n);
      struct tcp_info info;
      socklen_t len = sizeof info;
      getsockopt(t->fd, IPPROTO_TCP, TCP_INFO, &info, &len);
    } else {
      n = recv(t->fd, buf, sizeof buf, 0);
    }
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
      finish(t, 0, now);
      return;
    }
    if (n == 0) {
      finish(t, t->body_left == -2 || t->body_left == 0, now);
      return;
    }
    if (!t->first_byte) t->first_byte = now;
    size_t used = 0;
    if (t->body_left == -1) {  // still in the headers
      size_t room = kHeadBytes - 1 - t->head_len;
      size_t take = (size_t)n < room ? (size_t)n : room;
      memcpy(t->head + t->head_len, buf, take);
      size_t before = t->head_len;
      t->head_len += take;
      t->head[t->head_len] = 0;
      char* end = strstr(t->head, "\r\n\r\n");
      if (!end) {
        if (t->head_len == kHeadBytes - 1) {
          finish(t, 0, now);
          return;
        }
        continue;
      }
      size_t head_end = (size_t)(end - t->head) + 4;
      if (parse_head(t, head_end) != 0) {
        finish(t, 0, now);
        return;
      }
      used = head_end - before;
    }
    if (t->body_left >= 0) {
      t->body_left -= (long)((size_t)n - used);
      if (t->body_left <= 0) {
        finish(t, t->status > 0 && t->status <= 304, now);
        return;
      }
    }
  }
}

static int compare_u32(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

static uint32_t p50(uint32_t* v) {
  if (!n_samples) return 0;
  qsort(v, n_samples, sizeof *v, compare_u32);
  return v[n_samples / 2];
}

int main(int argc, char** argv) {
  double seconds = 10;
  int back_to_back = 0, opt;
  while ((opt = getopt(argc, argv, "bts:")) != -1) {
    if (opt == 'b')
      back_to_back = 1;
    else if (opt == 't')
      timestamps = 1;
    else if (opt == 's')
      seconds = atof(optarg);
    else
      return 64;
  }
  n_targets = (size_t)(argc - optind);
  if (n_targets == 0 || n_targets > kMaxTargets || seconds <= 0 || seconds > 3600 ||
      (back_to_back && n_targets != 1)) {
    fprintf(stderr, "usage: %s [-t] [-s SECONDS] URL... | -b [-t] [-s SECONDS] URL\n", argv[0]);
    return 64;
  }
  targets = calloc(n_targets, sizeof *targets);
  tcp_us = malloc(kMaxSamples * sizeof *tcp_us);
  first_us = malloc(kMaxSamples * sizeof *first_us);
  total_us = malloc(kMaxSamples * sizeof *total_us);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!targets || !tcp_us || !first_us || !total_us || epfd < 0) return 1;
  if (timestamps) {
    // The kernel takes RX stamps only while a socket asks for them: one asks all along.
    int keeper = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), flags = kRxStamps;
    setsockopt(keeper, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
  }
  uint64_t began = now_ns(), end = began + (uint64_t)(seconds * 1e9);
  for (size_t i = 0; i < n_targets; ++i) {
    if (parse_url(argv[optind + (int)i], &targets[i]) != 0) {
      fprintf(stderr, "not an http://IP:PORT/ URL: %s\n", argv[optind + (int)i]);
      return 64;
    }
    targets[i].due = back_to_back ? began : began + kSecond + kSecond / n_targets * i;
  }
  struct epoll_event events[64];
  for (;;) {
    uint64_t now = now_ns();
    if (now >= end) break;
    // Start what is due; give up on what is past its limit; find the next deadline.
    uint64_t wake = end;
    for (size_t i = 0; i < n_targets; ++i) {
      Target* t = &targets[i];
      if (t->phase != IDLE && now - t->start >= kTimeoutNs) finish(t, 0, now);
      if (t->phase == IDLE && t->due <= now) {
        if (back_to_back) {
          start_probe(t, now);
        } else {
          start_probe(t, now);
          do t->due = next_due(t->due);
          while (t->due <= now);
        }
      }
      uint64_t deadline = t->phase != IDLE ? t->start + kTimeoutNs : t->due;
      if (deadline < wake) wake = deadline;
    }
    int timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
    int n = epoll_wait(epfd, events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) return 1;
    for (int k = 0; k < n; ++k) {
      uint64_t t_event = now_ns();  // the first thing each event's handler does
      Target* t = events[k].data.ptr;
      if (t->phase == CONNECTING)
        on_writable(t, t_event);
      else if (t->phase == WAITING)
        on_readable(t, t_event);
      if (back_to_back && t->phase == IDLE) start_probe(t, now_ns());
    }
  }
  double secs = (double)(now_ns() - began) / 1e9;
  uint32_t tcp = p50(tcp_us), first = p50(first_us), total = p50(total_us);
  printf("probes %llu failed %llu seconds %.2f rate %.1f p50_us tcp %u first %u total %u\n",
         (unsigned long long)ok_count, (unsigned long long)failed_count, secs,
         (double)ok_count / secs, tcp, first, total);
  return failed_count == 0 ? 0 : 1;
}
