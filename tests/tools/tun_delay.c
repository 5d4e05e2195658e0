/* A wire with a delay between two network namespaces (this kernel has no netem): one TUN
 * device in each, every IP packet read from one written into the other DELAY ms later, so
 * a TCP handshake takes 2 * DELAY like any other round trip.
 *
 *   tun_delay -a NS_A -b NS_B [-d MS] [-A DEV_A] [-B DEV_B] [-q PACKETS] [-t SECONDS]
 *             [-f PRIO]
 *
 * NS_A and NS_B are names under /run/netns (ip netns add). The devices (default tda in A,
 * tdb in B) are made there, IFF_TUN without packet information; it prints "ready" once
 * they exist, and the caller gives them addresses, e.g. in A "198.18.1.1 peer 198.18.1.2"
 * and the reverse in B, and sets them up. Each direction has a bounded queue (-q, default
 * 1024 packets): a packet that finds it full is dropped and counted. One thread and one
 * absolute timerfd: a packet is stamped when read, and written when the timer reaches the
 * stamp + DELAY. -f PRIO runs it with SCHED_FIFO at PRIO, so that load on the machine
 * does not lengthen the wire. -t ends it after SECONDS (default 600). On SIGINT, SIGTERM or
 * the end it prints "forwarded a>b N b>a M dropped a>b X b>a Y errors Z" on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { SLOT_BYTES = 2048 };

struct slot {
  int64_t due_ns;
  int len;
  unsigned char data[SLOT_BYTES];
};

/* One direction: packets read from `from`, queued, written to `to`. */
struct lane {
  int from, to;
  struct slot* ring;
  size_t head, count;
  long forwarded, dropped;
};

static struct lane lanes[2];
static size_t capacity = 1024;
static long write_errors;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report_and_exit(int sig) {
  (void)sig;
  char line[160];
  int n = snprintf(
      line, sizeof line, "forwarded a>b %ld b>a %ld dropped a>b %ld b>a %ld errors %ld\n",
      lanes[0].forwarded, lanes[1].forwarded, lanes[0].dropped, lanes[1].dropped, write_errors);
  if (write(2, line, (size_t)n) < 0) _exit(1);
  _exit(0);
}

/* A TUN device named dev inside the namespace /run/netns/ns. */
static int tun_in(const char* ns, const char* dev) {
  char path[256];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int there = open(path, O_RDONLY | O_CLOEXEC);
  if (home < 0 || there < 0 || setns(there, CLONE_NEWNET) != 0) {
    perror(path);
    exit(1);
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  struct ifreq ifr = {0};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
    perror("/dev/net/tun TUNSETIFF");
    exit(1);
  }
  if (setns(home, CLONE_NEWNET) != 0) {
    perror("setns home");
    exit(1);
  }
  close(home);
  close(there);
  return fd;
}

static void read_all(struct lane* l, int64_t delay_ns) {
  for (;;) {
    struct slot* s = &l->ring[(l->head + l->count) % capacity];
    unsigned char spill[SLOT_BYTES];
    int full = l->count == capacity;
    ssize_t n = read(l->from, full ? spill : s->data, SLOT_BYTES);
    if (n <= 0) return; /* EAGAIN: drained */
    if (full) {
      l->dropped++;
      continue;
    }
    s->due_ns = now_ns() + delay_ns;
    s->len = (int)n;
    l->count++;
  }
}

static void write_due(struct lane* l, int64_t now) {
  while (l->count && l->ring[l->head].due_ns <= now) {
    struct slot* s = &l->ring[l->head];
    if (write(l->to, s->data, (size_t)s->len) == s->len)
      l->forwarded++;
    else
      write_errors++; /* the device is down, or its queue full: as a wire would, lose it */
    l->head = (l->head + 1) % capacity;
    l->count--;
  }
}

static void arm(int tfd) {
  int64_t due = INT64_MAX;
  for (int i = 0; i < 2; i++)
    if (lanes[i].count && lanes[i].ring[lanes[i].head].due_ns < due)
      due = lanes[i].ring[lanes[i].head].due_ns;
  struct itimerspec it = {0};
  if (due != INT64_MAX) {
    it.it_value.tv_sec = due / 1000000000;
    it.it_value.tv_nsec = due % 1000000000;
    if (it.it_value.tv_sec == 0 && it.it_value.tv_nsec == 0) it.it_value.tv_nsec = 1;
  }
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

int main(int argc, char** argv) {
  const char *ns_a = NULL, *ns_b = NULL, *dev_a = "tda", *dev_b = "tdb";
  double delay_ms = 0, seconds = 600;
  int fifo = 0, opt;
  while ((opt = getopt(argc, argv, "a:b:d:A:B:q:t:f:")) != -1) {
    switch (opt) {
      case 'a':
        ns_a = optarg;
        break;
      case 'b':
        ns_b = optarg;
        break;
      case 'd':
        delay_ms = atof(optarg);
        break;
      case 'A':
        dev_a = optarg;
        break;
      case 'B':
        dev_b = optarg;
        break;
      case 'q':
        capacity = (size_t)atol(optarg);
        break;
      case 't':
        seconds = atof(optarg);
        break;
      case 'f':
        fifo = atoi(optarg);
        break;
      default:
        ns_a = NULL;
        break;
    }
  }
  if (!ns_a || !ns_b || capacity == 0 || delay_ms < 0) {
    fprintf(stderr,
            "usage: %s -a NS_A -b NS_B [-d MS] [-A DEV_A] [-B DEV_B] [-q PACKETS] [-t SECONDS] "
            "[-f PRIO]\n",
            argv[0]);
    return 64;
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (fifo > 0) {
    struct sched_param sp = {.sched_priority = fifo};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
      perror("sched_setscheduler");
      return 1;
    }
  }
  int fd_a = tun_in(ns_a, dev_a), fd_b = tun_in(ns_b, dev_b);
  lanes[0] = (struct lane){.from = fd_a, .to = fd_b};
  lanes[1] = (struct lane){.from = fd_b, .to = fd_a};
  for (int i = 0; i < 2; i++) {
    lanes[i].ring = calloc(capacity, sizeof(struct slot));
    if (!lanes[i].ring) {
      perror("calloc");
      return 1;
    }
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int fds[3] = {fd_a, fd_b, tfd};
  for (int i = 0; i < 3; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  signal(SIGINT, report_and_exit);
  signal(SIGTERM, report_and_exit);
  signal(SIGALRM, report_and_exit);
  alarm((unsigned)(seconds + 0.999));
  printf("ready\n");
  fflush(stdout);

  int64_t delay_ns = (int64_t)(delay_ms * 1e6);
  for (;;) {
    struct epoll_event evs[3];
    int n = epoll_wait(ep, evs, 3, -1);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      uint32_t which = evs[i].data.u32;
      if (which < 2) {
        read_all(&lanes[which], delay_ns);
      } else {
        uint64_t expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) return 1;
      }
    }
    int64_t now = now_ns();
    write_due(&lanes[0], now);
    write_due(&lanes[1], now);
    arm(tfd);
  }
}
