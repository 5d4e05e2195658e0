#include "mesh/mesh_page.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "mesh/html_text.hpp"
#include "mesh/mesh_matrix.hpp"
#include "mesh/sparkline.hpp"

namespace pingmesh {

namespace {

// Mean total time bands, in ms: a log scale from a loopback hop to another continent.
constexpr double kBandMs[] = {1, 3, 10, 30, 100, 300};
constexpr int kBands = int(std::size(kBandMs)) + 1;

const char kStyle[] = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em}
nav a{margin-right:1.2em}p.note{color:#555;margin:.3em 0}
table{border-collapse:collapse}.scroll{overflow-x:auto}
.matrix td{width:3.4em;height:1.9em;text-align:center;font-size:11px;border:1px solid #fff}
.matrix th{font-weight:normal;font-size:12px;padding:2px 6px;white-space:nowrap;text-align:right}
.matrix thead th{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;
 vertical-align:bottom;max-height:12em;overflow:hidden}
.matrix th.corner{writing-mode:horizontal-tb;transform:none;vertical-align:bottom;color:#777}
.none{background:#d9d9d9;color:#888}.self{background:#eee;color:#aaa}
.fail{background:#d32f2f;color:#fff;font-weight:bold}
.b0{background:#1a9850;color:#fff}.b1{background:#66bd63}.b2{background:#a6d96a}
.b3{background:#fee08b}.b4{background:#fdae61}.b5{background:#f46d43;color:#fff}
.b6{background:#8c510a;color:#fff}
.legend span{display:inline-block;padding:1px 8px;margin:2px 2px 0 0;font-size:12px}
.peers th,.peers td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;
 white-space:nowrap;font-variant-numeric:tabular-nums}
.peers th{background:#eee}.peers .t{text-align:left}.peers tr.bad td{color:#b71c1c}
svg.spark{vertical-align:middle}svg.spark path{fill:none;stroke:#1565c0;stroke-width:1.2}
svg.spark rect.f{fill:#d32f2f}
</style>
)";

std::string fmt(const char* f, double v) {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// A cell's few characters: enough digits to tell neighbours apart.
std::string cell_ms(double ms) {
  return fmt(ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
}

std::string ms3(double seconds) {
  return std::isnan(seconds) ? "-" : fmt("%.3f", seconds * 1e3);
}

int band(double ms) {
  int b = 0;
  while (b < kBands - 1 && ms > kBandMs[b]) ++b;
  return b;
}

std::string utc_time(int64_t unix_ns) {
  if (unix_ns <= 0) return "-";
  std::time_t t = std::time_t(unix_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%H:%M:%SZ", &tm);
  return b;
}

std::string ago(int64_t then_ns, int64_t now_ns) {
  if (then_ns <= 0) return "never";
  return std::to_string(std::max<int64_t>(0, (now_ns - then_ns) / 1'000'000'000)) + " s ago";
}

void matrix_html(std::string& o, const MeshMatrix& m) {
  o += "<div class=\"scroll\"><table class=\"matrix\" id=\"matrix\" data-rows=\"" +
       std::to_string(m.rows.size()) + "\" data-columns=\"" + std::to_string(m.columns.size()) +
       "\">\n<thead><tr><th class=\"corner\">from \\ to</th>";
  for (const auto& c : m.columns)
    o += "<th title=\"" + html_escape(c.key) + "\">" + html_escape(short_label(c.label)) + "</th>";
  o += "</tr></thead>\n<tbody>\n";
  for (size_t r = 0; r < m.rows.size(); ++r) {
    const auto& row = m.rows[r];
    std::string from = html_escape(row.key);
    o += "<tr><th title=\"" + from + " (" + html_escape(row.note) + ")\">" +
         html_escape(short_label(row.label, 30)) + "</th>";
    for (size_t c = 0; c < m.columns.size(); ++c) {
      const MatrixCell& cell = m.cells[r][c];
      bool diagonal = m.columns[c].key == row.key;
      std::string to = html_escape(m.columns[c].key);
      const char* state = cell.state == MatrixCell::State::ok     ? "ok"
                          : cell.state == MatrixCell::State::fail ? "fail"
                          : diagonal                              ? "self"
                                                                  : "none";
      std::string cls, text, title = from + " \u2192 " + to;
      if (cell.state == MatrixCell::State::ok) {
        cls = "b" + std::to_string(band(cell.mean_total_ms));
        text = cell_ms(cell.mean_total_ms);
      } else if (cell.state == MatrixCell::State::fail) {
        cls = "fail", text = "\u2715";
      } else {
        cls = diagonal ? "self" : "none", text = diagonal ? "\u00b7" : "";
      }
      if (cell.pings || cell.fails)
        title += ": mean total " + fmt("%.3f", cell.mean_total_ms) + " ms, mean TCP " +
                 fmt("%.3f", cell.mean_tcp_ms) + " ms, " + std::to_string(cell.pings) + " pings, " +
                 std::to_string(cell.fails) + " fails";
      else
        title += diagonal ? ": itself" : ": no data";
      o += "<td class=\"" + cls + "\" data-from=\"" + from + "\" data-to=\"" + to +
           "\" data-state=\"" + state + "\" title=\"" + title + "\">" + text + "</td>";
    }
    o += "</tr>\n";
  }
  o += "</tbody></table></div>\n<p class=\"legend\">";
  double lo = 0;
  for (int b = 0; b < kBands; ++b) {
    std::string range = b < kBands - 1 ? fmt("%.0f", lo) + "\u2013" + fmt("%.0f", kBandMs[b])
                                       : "&gt; " + fmt("%.0f", kBandMs[b - 1]);
    o += "<span class=\"b" + std::to_string(b) + "\">" + range + " ms</span>";
    if (b < kBands - 1) lo = kBandMs[b];
  }
  o += "<span class=\"fail\">\u2715 failing</span><span class=\"none\">no data</span>"
       "<span class=\"self\">\u00b7 itself</span></p>\n";
}

void peers_html(std::string& o, const MeshView& view, const PeerSet& peers, const Metrics& metrics,
                int64_t now_ns) {
  o += "<table class=\"peers\" id=\"peers\">\n<thead><tr><th class=\"t\">peer</th>"
       "<th class=\"t\">origin</th><th class=\"t\">location</th><th>last sample</th>"
       "<th>code</th><th>pings</th><th>fails</th><th>loss</th><th>p50 ms</th><th>p90 ms</th>"
       "<th>p99 ms</th><th class=\"t\">recent totals</th></tr></thead>\n<tbody>\n";
  peers.for_each([&](const PeerSet::Member& m) {
    if (m.removed) return;
    const Peer& p = *m.peer;
    const PeerTotals& t = p.totals();
    const PeerSeries* s = metrics.find(p.identity());
    const RecentTotals* r = view.recent(p.identity());
    bool bad = r && r->size() && r->latest() == RecentTotals::kFailed;
    int64_t tries = int64_t(t.successes) + t.failures;
    std::string id = html_escape(p.identity());
    o += std::string("<tr data-peer=\"") + id + "\"" + (bad ? " class=\"bad\"" : "") + ">";
    o += "<td class=\"t\" title=\"" + html_escape(p.url()) + "\">" + id +
         (p.ended() ? " (ended)" : "") + "</td>";
    o += "<td class=\"t\">" + std::string(to_string(m.origin)) + "</td>";
    o += "<td class=\"t\">" + html_escape(p.location()) + "</td>";
    int64_t last = s ? s->last_sample_unix_ns : 0;
    o += "<td title=\"" + ago(last, now_ns) + "\">" + utc_time(last) + "</td>";
    o += "<td>" + (s && s->last_http_code ? std::to_string(s->last_http_code) : "-") + "</td>";
    o += "<td>" + std::to_string(t.successes) + "</td><td>" + std::to_string(t.failures) + "</td>";
    o += "<td>" + (tries ? fmt("%.1f %%", 100.0 * t.failures / double(tries)) : "-") + "</td>";
    for (double q : {0.5, 0.9, 0.99})
      o += "<td>" + (s ? ms3(s->phase(PhaseIndex::total).quantile(q)) : "-") + "</td>";
    o += "<td class=\"t\">" + (r && r->size() ? sparkline_svg(*r) : std::string()) + "</td>";
    o += "</tr>\n";
  });
  o += "</tbody></table>\n";
}

void sources_html(std::string& o, const MeshView& view, int64_t now_ns) {
  o += "<p class=\"note\">Rows after the first are other nodes' own measurements, from their "
       "/v1/peers, read every " +
       std::to_string(view.options().refresh_ms / 1000) +
       " s while this page is watched (nobody watching, nothing is read).</p>\n<ul>\n";
  for (const auto& [id, src] : view.sources()) {
    o += "<li>" + html_escape(id) + ": ";
    if (src.listing) {
      o += "read " + ago(src.read_unix_ns, now_ns) + ", " +
           std::to_string(src.listing->peers.size()) + " peers";
      if (src.cut)
        o += " (" + std::to_string(src.cut) + " more not shown: the page holds " +
             std::to_string(kMaxHeldListedPeers) + " listed peers in all, " +
             std::to_string(kMaxListedPeers) + " of one node)";
    } else {
      o += src.last_error.empty() ? "not read yet" : "never read";
    }
    if (!src.last_error.empty())
      o += (src.listing ? "; the latest read failed: " : ": ") + html_escape(src.last_error);
    o += "</li>\n";
  }
  o += "</ul>\n";
}

}  // namespace

std::string render_mesh_page(const MeshView& view, const PeerSet& peers, const Metrics& metrics,
                             const Routes& routes, int64_t now_unix_ns) {
  const auto& opt = view.options();
  std::string loc = html_escape(opt.location);
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"" +
      std::to_string(std::max<uint64_t>(1, opt.refresh_ms / 1000)) +
      "\">\n<meta name=\"viewport\" content=\"width=device-width\">\n"
      "<title>pingmesh: " +
      loc + "</title>\n";
  o += kStyle;
  o += "</head><body>\n<h1>pingmesh: " + loc + "</h1>\n<nav>";
  auto described = routes.described();
  for (const auto& [path, what] : described)
    o += "<a href=\"" + html_escape(path) + "\" title=\"" + html_escape(what) + "\">" +
         html_escape(path) + "</a>";
  o += "</nav>\n<h2>The mesh</h2>\n<p class=\"note\">Rows: from; columns: to; colour and "
       "figure: mean total time in ms (DNS excluded); red: failures and no recent "
       "success.</p>\n";
  matrix_html(o, build_matrix(view, peers, now_unix_ns));
  sources_html(o, view, now_unix_ns);
  o += "<h2>Our peers</h2>\n";
  peers_html(o, view, peers, metrics, now_unix_ns);
  o += "<h2>Routes</h2>\n<ul>\n";
  for (const auto& [path, what] : described)
    o += "<li><a href=\"" + html_escape(path) + "\">" + html_escape(path) +
         "</a>: " + html_escape(what) + "</li>\n";
  o += "</ul>\n<p class=\"note\">Built at " + utc_time(now_unix_ns) + ".</p>\n</body></html>\n";
  return o;
}

}  // namespace pingmesh
