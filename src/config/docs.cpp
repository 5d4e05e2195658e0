// The words of the documentation: every ini key, flag and variable, the sections, the
// example's header and --help's head and tail. The logic that renders and checks them is
// in docs_text.cpp; man/render_docs writes the pages, the example ini and --help.
#include "config/docs.hpp"

namespace pingmesh {

namespace {

using K = Doc::Kind;
using H = HelpGroup;

// In the order of the pages: a section's keys together, each flag of its own next to the
// key it spells; --help takes the flags of each group in this order.
const Doc kDocs[] = {
    {.kind = K::flag,
     .name = "C",
     .value = "FILE",
     .doc = "the ini file",
     .unset = "/etc/pingmesh/pingmesh.ini",
     .more = "The default file is read only if it exists; PINGMESH_CONFIG names another "
             "default, empty for none.",
     .help = H::general,
     .alias = "config"},
    {.kind = K::flag,
     .name = "check-config",
     .doc = "validate, print the effective configuration, exit 0 or 78",
     .more = "Secrets are masked. Nothing is bound and nothing is probed.",
     .help = H::general},
    {.kind = K::flag,
     .name = "help",
     .doc = "print this help and exit",
     .help = H::general,
     .alias = "h"},
    {.kind = K::flag, .name = "version", .doc = "print the version and exit", .help = H::general},

    // [node]
    {.section = "node",
     .name = "location",
     .value = "LOCATION",
     .doc = "this node's location",
     .unset = "a local IP address",
     .more = "Shown on its /v1/ping page and learned by the peers probing it. The environment's "
             "REP_LOCATION, else "
             "REP_CITY,REP_COUNTRY, comes before this key. The local address is found "
             "without sending any packet.",
     .help = H::answering,
     .example = "Chicago,US"},
    {.section = "node",
     .name = "hostname",
     .value = "NAME",
     .doc = "this node's hostname, shown in /v1/peers",
     .help = H::answering,
     .example = "node1.example.net"},
    {.section = "node",
     .name = "listen",
     .value = "LIST",
     .doc = "the addresses the responder listens on",
     .active = true},
    {.section = "node",
     .name = "port",
     .value = "PORT",
     .doc = "answer probes on PORT",
     .unset = "off",
     .more = "HTTP on every `listen` address: /v1/ping, /v1/peers and the rest (see "
             "ENDPOINTS in pingmesh(8)). Ports below 1024 need CAP_NET_BIND_SERVICE (see the "
             "systemd unit).",
     .help = H::answering,
     .example = "8080",
     .active = true},
    {.section = "node",
     .name = "report_port",
     .value = "PORT",
     .doc = "the port reported as SrvPort",
     .unset = "same as `port`",
     .help = H::answering,
     .example = "8080"},
    {.section = "node",
     .name = "tls_port",
     .value = "PORT",
     .doc = "also answer over https on PORT",
     .unset = "off",
     .more = "With `cert` and `key`. TLS 1.2; a handshake may take 5 s.",
     .help = H::answering,
     .example = "8443"},
    {.section = "node",
     .name = "cert",
     .value = "FILE",
     .doc = "the https responder's certificate chain (PEM)",
     .more = "Read at start and at each reload.",
     .help = H::answering,
     .example = "/etc/pingmesh/cert.pem"},
    {.section = "node",
     .name = "key",
     .value = "FILE",
     .doc = "the https responder's private key (PEM)",
     .more = "Read at start and at each reload; never printed.",
     .help = H::answering,
     .example = "/etc/pingmesh/key.pem"},
    {.section = "node",
     .name = "probe_self",
     .value = "auto|yes|no",
     .doc = "probe this node's own responder",
     .more = "auto: when the node was started from an ini file that names no peer, so a "
             "fresh install shows data at once."},
    {.section = "node",
     .name = "delay",
     .value = "N",
     .doc = "seconds between probes of one peer",
     .more = "Each peer's schedule has a jitter of 0.5%, and peers start spread over the "
             "first period.",
     .help = H::probing,
     .active = true},
    {.section = "node",
     .name = "limit",
     .value = "N",
     .doc = "successful probes per peer",
     .unset = "until interrupted",
     .more = "Without a responder the daemon exits when every peer is done; with one it "
             "keeps answering.",
     .help = H::probing},
    {.section = "node",
     .name = "max_failures",
     .value = "N",
     .doc = "failures before a peer is given up",
     .help = H::probing},
    {.section = "node",
     .name = "timeout",
     .value = "S",
     .doc = "seconds a whole probe may take, DNS included",
     .help = H::probing},
    {.section = "node",
     .name = "connect_timeout",
     .value = "S",
     .doc = "seconds a TCP connect may take",
     .more = "At most `timeout`.",
     .help = H::probing},
    {.section = "node",
     .name = "tls_timeout",
     .value = "S",
     .doc = "seconds a TLS handshake may take",
     .help = H::tls},
    {.section = "node",
     .name = "timing",
     .value = "kernel|user",
     .doc = "the clock that times the phases",
     .more = "With `kernel`, TCP is the SYN's round trip (TCP_INFO), TLS the handshake's round "
             "trips, First and LastB run from the request's send to the response's arrivals, "
             "all from kernel timestamps (SO_TIMESTAMPING), so the daemon's own work (other "
             "probes, clients' TLS handshakes, output) cannot inflate them; DNS is always the "
             "daemon's. A phase the kernel did not time falls back to the daemon's clock, "
             "and the json output says which clock each phase used. `user` reports the "
             "daemon's clock, the original's definitions; json carries both either way.",
     .help = H::probing},
    {.section = "node",
     .name = "disturbed_margin",
     .value = "S",
     .doc = "lateness that marks a sample disturbed",
     .more = "A sample is disturbed when the daemon's time of TCP or First exceeds the "
             "kernel's by more than this. A disturbed sample whose TCP or First is not the "
             "kernel's is left out of the "
             "averages and statistics (summaries, CloudWatch); it is still shown and counted.",
     .help = H::probing},
    {.section = "node",
     .name = "disturbed_work",
     .value = "S",
     .doc = "other work that marks a sample disturbed",
     .help = H::probing},
    {.section = "node",
     .name = "dns_servers",
     .value = "LIST",
     .doc = "the DNS servers to ask",
     .unset = "the system's",
     .more = "For example 127.0.0.1:5353,[::1]:53. Applies at the next start.",
     .help = H::probing,
     .example = "127.0.0.1:53"},
    {.section = "node",
     .name = "address",
     .value = "IP",
     .doc = "connect to IP instead of resolving peers' hosts",
     .more = "The original's -I. A [peer NAME] address wins for its peer.",
     .help = H::probing},
    {.section = "node",
     .name = "output",
     .value = "text|json|none",
     .doc = "per-probe output on stdout",
     .more = "text: the original's lines; json: one object a line. Under systemd stdout "
             "goes to the journal.",
     .help = H::output},
    {.kind = K::flag, .name = "j", .doc = "the same as --format json", .help = H::output},
    {.section = "node",
     .name = "verbosity",
     .value = "LEVEL",
     .doc = "what is logged",
     .more = "0 is quiet (summaries only), 4 debug; -v adds 1, -V adds 2, -q sets 0."},
    {.kind = K::flag, .name = "v", .doc = "more verbose (verbosity 2)", .help = H::output},
    {.kind = K::flag,
     .name = "V",
     .doc = "even more verbose (verbosity 3; 4 with -v)",
     .help = H::output},
    {.kind = K::flag,
     .name = "q",
     .doc = "quiet: summaries only (verbosity 0; wins)",
     .help = H::output},
    {.section = "node",
     .name = "shutdown_timeout",
     .value = "S",
     .doc = "seconds to finish and flush on SIGTERM",
     .more = "Probes in flight finish, sinks flush, the spool keeps what is not sent.",
     .help = H::output},

    // [tls]
    {.section = "tls",
     .name = "verify",
     .value = "yes|no",
     .doc = "verify https peers' certificates, against `ca_file`",
     .more = "The original never verified them."},
    {.kind = K::flag,
     .name = "k",
     .doc = "do not verify certificates (self-signed meshes)",
     .more = "The same as [tls] verify = no; a pin is still checked.",
     .help = H::tls},
    {.section = "tls",
     .name = "ca_file",
     .value = "FILE",
     .doc = "trusted CAs",
     .more = "A renewed file (same name, new time) applies from each peer's next probe.",
     .help = H::tls},
    {.section = "tls",
     .name = "pin_sha256",
     .value = "B64",
     .doc = "require this public key, by the SHA-256 of its SPKI",
     .more = "The SPKI is the certificate's SubjectPublicKeyInfo, as in curl's "
             "--pinnedpubkey sha256//...; the pin is checked even when `verify` is off.",
     .help = H::tls},
    {.section = "tls",
     .name = "resume",
     .value = "yes|no",
     .doc = "allow TLS session resumption",
     .more = "Without it every probe makes a full handshake, since the handshake is what "
             "is measured."},
    {.kind = K::flag,
     .name = "tls-resume",
     .doc = "allow TLS session resumption ([tls] resume)",
     .help = H::tls},

    // [peers] and [peer NAME]: read by the loader itself.
    {.section = "peers",
     .name = "url",
     .value = "URL",
     .doc = "a peer to probe, URL[#Location]; one `url` line per peer",
     .more = "#Location presets the peer's location, and is its identity.",
     .example = "http://node2.example.net:8080/v1/ping#Dallas,US"},
    {.section = "peers",
     .name = "file",
     .value = "FILE",
     .doc = "a file of peers, one URL[#Location] per line",
     .more = "Blank lines and lines starting with # or ; are skipped; a line holds at most "
             "4,096 characters. Read again at each reload.",
     .example = "/etc/pingmesh/peers.txt"},
    {.section = "peer NAME",
     .name = "url",
     .value = "URL",
     .doc = "the peer's URL",
     .more = "Each [peer NAME] section needs one.",
     .example = "https://node3.example.net:8443/v1/ping"},
    {.section = "peer NAME",
     .name = "location",
     .value = "LOCATION",
     .doc = "the peer's location",
     .unset = "what the peer says",
     .example = "Frankfurt,DE"},
    {.section = "peer NAME",
     .name = "address",
     .value = "IP",
     .doc = "connect to IP instead of resolving the peer's host",
     .unset = "the node's",
     .example = "192.0.2.3"},
    {.section = "peer NAME",
     .name = "delay",
     .value = "N",
     .doc = "seconds between probes of this peer, from 1 to 86400",
     .unset = "the node's",
     .example = "5"},
    {.section = "peer NAME",
     .name = "verify",
     .value = "yes|no",
     .doc = "verify this peer's certificate",
     .unset = "the node's",
     .example = "yes"},
    {.section = "peer NAME",
     .name = "ca_file",
     .value = "FILE",
     .doc = "the CAs trusted for this peer",
     .unset = "the node's",
     .example = "/etc/pingmesh/mesh-ca.pem"},
    {.section = "peer NAME",
     .name = "pin_sha256",
     .value = "B64",
     .doc = "require this key; empty for none, whatever the node's",
     .unset = "the node's",
     .example = "base64-sha256-of-the-public-key="},
    {.section = "peer NAME",
     .name = "resume",
     .value = "yes|no",
     .doc = "allow TLS session resumption with this peer",
     .unset = "the node's",
     .example = "no"},

    // [cloudwatch]
    {.section = "cloudwatch",
     .name = "enabled",
     .value = "yes|no",
     .doc = "publish to AWS CloudWatch",
     .more = "Without a region and credentials, publishing stays off with a log line, as in "
             "the original."},
    {.kind = K::flag,
     .name = "c",
     .doc = "publish to AWS CloudWatch ([cloudwatch] enabled)",
     .help = H::output},
    {.section = "cloudwatch",
     .name = "mode",
     .value = "full|compat",
     .doc = "what is published",
     .more = "full: every phase and the failures by reason, aggregated per period; compat: "
             "the original's \"TCP RTT\" datums."},
    {.section = "cloudwatch",
     .name = "region",
     .value = "REGION",
     .doc = "the AWS region",
     .more = "AWS_REGION, else AWS_DEFAULT_REGION, comes before this key.",
     .example = "us-east-1"},
    {.section = "cloudwatch",
     .name = "endpoint",
     .value = "URL",
     .doc = "where PutMetricData requests go",
     .unset = "https://monitoring.REGION.amazonaws.com/",
     .more = "For VPC endpoints and test servers. No query nor fragment: requests are "
             "signed POSTs to its path.",
     .example = "https://monitoring.us-east-1.amazonaws.com/"},
    {.section = "cloudwatch",
     .name = "ca_file",
     .value = "FILE",
     .doc = "the CAs trusted for the endpoint, instead of the system's",
     .unset = "the system's, looked up one by one in /etc/ssl/certs",
     .more = "AWS_CA_BUNDLE comes before this key. For endpoints behind a proxy or a VPC "
             "endpoint with a private CA. Read again when it changes; at most 1 MB.",
     .example = "/etc/pingmesh/aws-ca.pem"},
    {.section = "cloudwatch",
     .name = "namespace",
     .value = "NAME",
     .doc = "the metrics' namespace"},
    {.section = "cloudwatch",
     .name = "period",
     .value = "N",
     .doc = "seconds per aggregation period",
     .more = "1 sends high-resolution metrics."},
    {.section = "cloudwatch",
     .name = "access_key_id",
     .value = "ID",
     .doc = "the access key's id",
     .more = "Credentials come from these keys, the AWS_* variables, the shared credentials "
             "file, or IMDSv2."},
    {.section = "cloudwatch",
     .name = "secret_access_key",
     .value = "SECRET",
     .doc = "the access key's secret (never printed)"},
    {.section = "cloudwatch",
     .name = "session_token",
     .value = "TOKEN",
     .doc = "the session token of temporary credentials (never printed)"},
    {.section = "cloudwatch",
     .name = "profile",
     .value = "NAME",
     .doc = "the profile read in the shared credentials file"},
    {.section = "cloudwatch",
     .name = "credentials_file",
     .value = "FILE",
     .doc = "the shared credentials file",
     .unset = "~/.aws/credentials"},
    {.section = "cloudwatch",
     .name = "dimensions",
     .value = "LIST",
     .doc = "the dimensions of full mode's metrics",
     .more = "Failures add Reason."},
    {.section = "cloudwatch",
     .name = "imds",
     .value = "yes|no",
     .doc = "take credentials from the EC2 instance metadata service (IMDSv2)",
     .more = "They are renewed five minutes before they expire."},
    {.section = "cloudwatch",
     .name = "imds_endpoint",
     .value = "URL",
     .doc = "the instance metadata service"},
    {.section = "cloudwatch",
     .name = "spool_dir",
     .value = "DIR",
     .doc = "where requests wait until CloudWatch takes them, across restarts",
     .unset = "$STATE_DIRECTORY/spool under systemd, else memory only"},
    {.section = "cloudwatch",
     .name = "spool_max_bytes",
     .value = "BYTES",
     .doc = "the spool's bound; the oldest requests go first",
     .more = "Counted and logged once. Data older than two weeks is dropped."},

    // [prometheus]
    {.section = "prometheus",
     .name = "enabled",
     .value = "yes|no",
     .doc = "serve GET /metrics",
     .more = "Histograms per peer and phase, probes and failures; on the responder's port "
             "unless `listen` is set."},
    {.section = "prometheus",
     .name = "listen",
     .value = "ADDRESS:PORT",
     .doc = "serve /metrics on a listener of its own, and only there",
     .unset = "the responder's port",
     .more = "Applies at start.",
     .example = "127.0.0.1:9464"},

    // [mesh]
    {.section = "mesh",
     .name = "max_peers",
     .value = "N",
     .doc = "peers of every origin together",
     .more = "Configuration, API, DNS and exchange; the metrics' labels are bounded by it.",
     .help = H::probing},
    {.section = "mesh",
     .name = "api_token",
     .value = "TOKEN",
     .doc = "the bearer token that API changes from other hosts need (never printed)",
     .more = "POST /v1/peers, DELETE /v1/peers/ID and /v1/addpeer are taken from loopback, "
             "or from other hosts with \"Authorization: Bearer TOKEN\"."},
    {.section = "mesh",
     .name = "api_token_file",
     .value = "FILE",
     .doc = "a file holding the API token",
     .more = "Read at start and at each reload.",
     .example = "/etc/pingmesh/api-token"},
    {.section = "mesh",
     .name = "state_dir",
     .value = "DIR",
     .doc = "where the API's peers are kept across restarts",
     .unset = "$STATE_DIRECTORY, else nowhere",
     .example = "/var/lib/pingmesh"},
    {.section = "mesh",
     .name = "exchange",
     .value = "LIST",
     .doc = "probe the active peers of these configured peers (identities, or *)"},
    {.section = "mesh",
     .name = "exchange_interval",
     .value = "N",
     .doc = "seconds between reads of their /v1/peers"},

    // [discovery]
    {.section = "discovery",
     .name = "name",
     .value = "NAME",
     .doc = "a DNS name whose records are the members",
     .unset = "off",
     .more = "A/AAAA records (a headless Service), or SRV records when the name starts with "
             "_ (_pingmesh._tcp.example.net).",
     .example = "pingmesh.default.svc.cluster.local"},
    {.section = "discovery",
     .name = "port",
     .value = "PORT",
     .doc = "the members' port, for A/AAAA records",
     .unset = "this node's port",
     .example = "8080"},
    {.section = "discovery",
     .name = "https",
     .value = "yes|no",
     .doc = "probe the members over https",
     .more = "Then the default port is this node's `tls_port`."},
    {.section = "discovery",
     .name = "min_ttl",
     .value = "N",
     .doc = "seconds at least between lookups",
     .more = "The name is looked up again at its answer's TTL, within min_ttl and max_ttl."},
    {.section = "discovery",
     .name = "max_ttl",
     .value = "N",
     .doc = "seconds at most between lookups"},
    {.section = "discovery",
     .name = "fanout",
     .value = "N",
     .doc = "probe about this many members",
     .unset = "all",
     .more = "Every pair is still measured in one direction at least."},
    {.section = "discovery",
     .name = "grace",
     .value = "N",
     .doc = "seconds a member may be missing from the answers before it is removed",
     .more = "A failed lookup removes nobody."},

    // [page]
    {.section = "page",
     .name = "refresh",
     .value = "N",
     .doc = "seconds between the page's reloads, and between reads of others' listings",
     .more = "Other nodes' /v1/peers are read only while someone has looked at the page in "
             "the last 5 minutes."},
    {.section = "page",
     .name = "sources",
     .value = "N",
     .doc = "listings read at most per round",
     .more = "0: our own row only. More are read in turns."},

    // Variables that no ini key has.
    {.kind = K::env,
     .name = "PINGMESH_CONFIG",
     .doc = "the default ini file instead of /etc/pingmesh/pingmesh.ini; empty for none"},
    {.kind = K::env, .name = "PINGMESH_URL", .doc = "one more peer, URL[#Location]"},
    {.kind = K::env, .name = "REP_LOCATION", .doc = "this node's location, over [node] location"},
    {.kind = K::env,
     .name = "REP_CITY",
     .doc = "with REP_COUNTRY, this node's location as CITY,COUNTRY when REP_LOCATION is unset"},
    {.kind = K::env, .name = "REP_COUNTRY", .doc = "see REP_CITY"},
    {.kind = K::env,
     .name = "AWS_DEFAULT_REGION",
     .doc = "the CloudWatch region when AWS_REGION is unset"},
    {.kind = K::env,
     .name = "AWS_ENDPOINT_URL",
     .doc = "the CloudWatch endpoint when AWS_ENDPOINT_URL_CLOUDWATCH is unset"},
    {.kind = K::env,
     .name = "STATE_DIRECTORY",
     .doc = "set by systemd's StateDirectory=: the default `state_dir`, and the spool under it"},
};

const SectionDoc kSections[] = {
    {"node", "This node: how it is known, what it answers, how it probes.", nullptr},
    {"tls", "Checks for https peers; a [peer NAME] section may override them.", nullptr},
    {"peers",
     "The peers to probe. Peers also come from [peer NAME] sections, the API (POST "
     "/v1/peers), DNS discovery and peer exchange; `max_peers` bounds them all.",
     nullptr},
    {"peer NAME",
     "A peer with settings of its own; NAME is its identity in every output. What it does "
     "not set is the node's.",
     "peer node3"},
    {"cloudwatch",
     "Publishing to AWS CloudWatch with PutMetricData, signed with SigV4. Every request is "
     "spooled before it is sent and retried with back-off, so nothing is lost.",
     nullptr},
    {"prometheus", "Metrics for Prometheus, in its text format.", nullptr},
    {"mesh", "Membership: the bound on peers, the API's token and state, and peer exchange.",
     nullptr},
    {"discovery", "Members from DNS. The node finds itself among them and leaves itself out.",
     nullptr},
    {"page",
     "GET / shows the mesh: our peers, and the peers of those that are pingmesh nodes, read "
     "from their /v1/peers.",
     nullptr},
};

const char kExampleHeader[] =
    "pingmesh configuration: /etc/pingmesh/pingmesh.ini. Every key is shown with its "
    "default, or with an example where the line starts with ';'; see pingmesh.ini(5).\n"
    "Precedence: command line, then environment (PINGMESH_*, REP_*, AWS_*), then this file, "
    "then the defaults. `pingmesh --check-config` validates this file and prints the "
    "effective configuration; `systemctl reload pingmesh` (SIGHUP) applies a changed file: "
    "new peers start, removed peers stop and log their summary, unchanged peers keep their "
    "statistics. An invalid file is refused and the running configuration stays.\n"
    "Paths in this file (cert, key, ca_file, [peers] file, credentials_file, spool_dir, "
    "api_token_file, state_dir) are relative to this file's directory; paths on the command "
    "line, to the working directory. This file and a [peers] file must be regular files of "
    "at most 1 MiB; a line holds at most 198 characters. Numbers are decimal digits only "
    "(10, or 2.5 where seconds allow a fraction).";

const char kUsageHead[] =
    "Usage: pingmesh [flags] URL[#Location]...\n"
    "       pingmesh peers [-k] URL   print a node's peers (its /v1/peers) as a table\n"
    "Probes each URL every -d seconds; with -s PORT, also answers probes on PORT.\n"
    "SIGINT (^C) or SIGTERM prints each peer's summary; SIGHUP re-reads the ini file.\n";

const char kUsageTail[] =
    "\n"
    "Precedence: command line, then environment, then the ini file, then defaults.\n"
    "Keys: pingmesh.ini(5). Flags, environment, signals, endpoints: pingmesh(8).\n"
    "Exit codes: 0 success, 1 runtime failure, 64 bad usage, 78 bad configuration.\n";

}  // namespace

std::span<const Doc> docs() {
  return kDocs;
}

std::span<const SectionDoc> section_docs() {
  return kSections;
}

const char* example_header() {
  return kExampleHeader;
}

const char* usage_head() {
  return kUsageHead;
}

const char* usage_tail() {
  return kUsageTail;
}

}  // namespace pingmesh
