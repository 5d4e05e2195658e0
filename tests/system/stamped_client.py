"""An independent prober for checking the accuracy tests' tools: plain sockets, one probe
at a time, each phase timed both by this process's clock and by the kernel.

    stamped_client.py HOST PORT PATH COUNT [--gap SECONDS]

Prints one JSON line per probe: user_tcp_ms (connect() by the monotonic clock), rtt_ms
(tcpi_rtt right after connect: the SYN to SYN/ACK round trip), retrans (tcpi_total_retrans),
user_first_ms (send() to the first recv() by the monotonic clock), kernel_first_ms (the
kernel's receive stamp of the first response bytes minus the wall clock just before
send(): SO_TIMESTAMPING stamps are CLOCK_REALTIME), hold_ms (the Server-Timing hold)."""
import argparse
import json
import re
import socket
import struct
import time

SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
RX_FLAGS = 0x08 | 0x10  # SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE
TCPI_RTT_OFFSET, TCPI_TOTAL_RETRANS_OFFSET = 68, 100  # in struct tcp_info


def probe(host, port, path):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, RX_FLAGS)
        t0 = time.monotonic_ns()
        s.connect((host, port))
        t1 = time.monotonic_ns()
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        rtt_us = struct.unpack_from("I", info, TCPI_RTT_OFFSET)[0]
        retrans = struct.unpack_from("I", info, TCPI_TOTAL_RETRANS_OFFSET)[0]
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        wall_send = time.clock_gettime_ns(time.CLOCK_REALTIME)
        t2 = time.monotonic_ns()
        s.sendall(request)
        data, anc, _, _ = s.recvmsg(65536, 256)
        t3 = time.monotonic_ns()
        stamp = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING:
                sec, nsec = struct.unpack_from("qq", payload, 0)
                stamp = sec * 1_000_000_000 + nsec
        while b"\r\n\r\n" not in data:
            more = s.recv(65536)
            if not more:
                break
            data += more
    m = re.search(rb"Server-Timing: hold;dur=([0-9.]+)", data)
    return {"user_tcp_ms": (t1 - t0) / 1e6, "rtt_ms": rtt_us / 1e3, "retrans": retrans,
            "user_first_ms": (t3 - t2) / 1e6,
            "kernel_first_ms": (stamp - wall_send) / 1e6 if stamp else None,
            "hold_ms": float(m.group(1)) if m else None}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("count", type=int)
    p.add_argument("--gap", type=float, default=0.01)
    a = p.parse_args()
    for _ in range(min(a.count, 10000)):
        print(json.dumps(probe(a.host, a.port, a.path)), flush=True)
        time.sleep(a.gap)


if __name__ == "__main__":
    main()
