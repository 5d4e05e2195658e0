"""A DNS server on loopback for tests, whose answers the test changes as it runs
(Debian's python3-dnslib): A, AAAA and SRV records with the TTL the test gives."""
import socket
import threading

from dnslib import AAAA, QTYPE, RCODE, RR, SRV, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


class Rfc1035Handler(DNSHandler):
    """As a real server: a UDP answer over 512 bytes is replaced by its header and question
    with TC set, so the client asks again over TCP (dnslib sends any size by default, and
    its own truncation drops the question, which resolvers discard as not theirs)."""

    def get_reply(self, data):
        rdata = super().get_reply(data)
        if self.protocol == "udp" and len(rdata) > 512:
            request = DNSRecord.parse(data)
            cut = request.reply()
            cut.header.tc = 1
            rdata = cut.pack()
        return rdata


class Zone(BaseResolver):
    def __init__(self):
        self.lock = threading.Lock()
        self.records = {}  # (name, "A"|"AAAA"|"SRV") -> [(rdata, ttl)]
        self.failing = False
        self.queries = 0

    def set(self, name, kind, values, ttl=2):
        """values: addresses for A/AAAA, (host, port) pairs for SRV."""
        name = name.lower().rstrip(".") + "."
        make = {"A": A, "AAAA": AAAA,
                "SRV": lambda v: SRV(priority=0, weight=0, port=v[1], target=v[0])}[kind]
        with self.lock:
            self.records[(name, kind)] = [(make(v), ttl) for v in values]

    def resolve(self, request, handler):
        reply = request.reply()
        name, kind = str(request.q.qname).lower(), QTYPE[request.q.qtype]
        with self.lock:
            self.queries += 1
            if self.failing:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            for rdata, ttl in self.records.get((name, kind), []):
                reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=ttl))
            known = any(n == name for n, _ in self.records)
        if not reply.rr and not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DnsServer:
    """UDP and TCP on one loopback port, serving zone."""

    def __init__(self, zone):
        for _ in range(20):
            self.port = free_udp_port()
            try:
                quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data")
                self.udp = DNSServer(zone, port=self.port, address="127.0.0.1", logger=quiet,
                                     handler=Rfc1035Handler)
                self.tcp = DNSServer(zone, port=self.port, address="127.0.0.1", tcp=True,
                                     logger=quiet)
                break
            except OSError:
                continue
        self.udp.start_thread()
        self.tcp.start_thread()

    def stop(self):
        self.udp.stop()
        self.tcp.stop()


if __name__ == "__main__":
    # Standalone, for a namespace: dns_zone.py ADDRESS PORT NAME=A1,A2 ...; runs until killed.
    import sys
    zone = Zone()
    for spec in sys.argv[3:]:
        name, _, values = spec.partition("=")
        zone.set(name, "A", values.split(","), ttl=5)
    quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data")
    servers = [DNSServer(zone, port=int(sys.argv[2]), address=sys.argv[1], logger=quiet,
                         handler=Rfc1035Handler),
               DNSServer(zone, port=int(sys.argv[2]), address=sys.argv[1], tcp=True,
                         logger=quiet)]
    for s in servers:
        s.start_thread()
    print("ready", flush=True)
    threading.Event().wait()
