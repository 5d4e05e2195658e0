// Writes pingmesh(8), pingmesh.ini(5) and the example pingmesh.ini from the docs table
// (src/config/docs.cpp) and the settings table, at build time:
//   render_docs man8 TEMPLATE OUT DATE | man5 TEMPLATE OUT DATE | ini OUT | usage OUT
// and --help, as usage.cpp for the daemon (which then carries the text, not the table).
// A template's @VERSION@ and @DATE@ become meson's version and the build's date
// (SOURCE_DATE_EPOCH if set, else DATE, the release date: no clock, so builds repeat);
// a line @OPTIONS@, @ENVIRONMENT@ or @SECTIONS@ becomes the generated list.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "config/docs.hpp"
#include "config/settings.hpp"

using namespace pingmesh;

namespace {

// Text for roff: backslashes and hyphens escaped (a "-" is a minus sign in flags, paths
// and URLs, which people copy), `code` in bold.
std::string roff(std::string_view text) {
  std::string out;
  bool bold = false;
  for (char ch : text) {
    if (ch == '`') {
      out += (bold = !bold) ? "\\fB" : "\\fR";
    } else if (ch == '\\') {
      out += "\\e";
    } else if (ch == '-') {
      out += "\\-";
    } else {
      out += ch;
    }
  }
  if (bold) out += "\\fR";
  // A line starting with . or ' would be a request.
  return !out.empty() && (out[0] == '.' || out[0] == '\'') ? "\\&" + out : out;
}

// Text lines for roff, one sentence a line (as roff wants, for the space after a full stop).
std::string para(std::string_view text) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    size_t stop = text.find(". ", at);
    size_t end = stop == text.npos ? text.size() : stop + 1;
    out += roff(text.substr(at, end - at)) + "\n";
    at = stop == text.npos ? end : end + 1;
  }
  return out;
}

// "-C, --config FILE" -> flags bold, the value italic.
std::string roff_spelling(const std::string& spelling) {
  std::string out;
  std::istringstream words(spelling);
  for (std::string w; words >> w;) {
    bool comma = w.back() == ',';
    if (comma) w.pop_back();
    if (!out.empty()) out += ' ';
    out += (w[0] == '-' ? "\\fB" : "\\fI") + roff(w) + "\\fR" + (comma ? "," : "");
  }
  return out;
}

std::string capital(std::string s) {
  if (!s.empty()) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// "Seconds between probes of one peer: a whole number from 1 to 86400."
// "The DNS servers to ask, comma separated, each IP[:port]."
std::string what_it_is(const Doc& d) {
  std::string accepted = accepted_text(d);
  if (d.value && std::strcmp(d.value, "LIST") == 0)
    return capital(d.doc) + ", comma separated" + (accepted.empty() ? "" : ", each " + accepted) +
           ".";
  return capital(d.doc) + (accepted.empty() ? "" : ": " + accepted) + ".";
}

// "Default \fB10\fR." "Default \fB0\fR: off." "Default: the system's."
std::string roff_default(const Doc& d) {
  std::string value = default_text(d);
  if (value.empty()) return d.unset ? para(std::string("Default: ") + d.unset + ".") : "";
  return "Default \\fB" + roff(value) + "\\fR" + (d.unset ? ": " + roff(d.unset) : std::string()) +
         ".\n";
}

std::string section_heading(const char* name) {
  std::string_view n = name;
  if (auto sp = n.find(' '); sp != n.npos)  // "peer NAME": the name is a placeholder
    return "[" + std::string(n.substr(0, sp)) + " \\fI" + std::string(n.substr(sp + 1)) + "\\fR]";
  return "[" + std::string(n) + "]";
}

std::string options() {
  std::string out;
  for (auto group : {HelpGroup::general, HelpGroup::probing, HelpGroup::tls, HelpGroup::answering,
                     HelpGroup::output}) {
    out += std::string(".SS \"") + help_group_title(group) + "\"\n";
    for (const Doc& d : docs()) {
      if (d.help != group) continue;
      out += ".TP\n" + roff_spelling(flag_spelling(d)) + "\n" + para(what_it_is(d));
      out += roff_default(d);
      if (d.more) out += para(d.more);
      const Setting* s = setting_of(d);
      if (d.kind == Doc::Kind::key) {
        out += "Ini: \\fB[" + std::string(d.section) + "] " + roff(d.name) + "\\fR";
        if (s && s->env) out += "; environment: \\fB" + roff(s->env) + "\\fR";
        out += ".\n";
      }
    }
  }
  return out;
}

std::string environment() {
  std::string out;
  for (const Doc& d : docs()) {
    const Setting* s = setting_of(d);
    if (d.kind == Doc::Kind::key && s && s->env) {
      out += ".TP\n\\fB" + roff(s->env) + "\\fR\n\\fB[" + std::string(d.section) + "] " +
             roff(d.name) + "\\fR: " + roff(d.doc) + ".\n";
    } else if (d.kind == Doc::Kind::env) {
      out += ".TP\n\\fB" + roff(d.name) + "\\fR\n" + para(capital(d.doc) + ".");
    }
  }
  return out;
}

std::string sections() {
  std::string out;
  for (const SectionDoc& sec : section_docs()) {
    out += ".SS \"" + section_heading(sec.name) + "\"\n";
    std::string_view text = sec.doc;
    for (size_t at = 0; at <= text.size();) {
      size_t nl = std::min(text.find('\n', at), text.size());
      if (at) out += ".PP\n";
      out += para(text.substr(at, nl - at));
      at = nl + 1;
    }
    for (const Doc& d : docs()) {
      if (d.kind != Doc::Kind::key || std::strcmp(d.section, sec.name) != 0) continue;
      out += ".TP\n\\fB" + roff(d.name) + "\\fR = \\fI" + roff(d.value) + "\\fR\n" +
             para(what_it_is(d));
      out += roff_default(d);
      if (d.more) out += para(d.more);
      const Setting* s = setting_of(d);
      std::string flag = flag_spelling(d);
      if (!flag.empty()) out += "Command line: " + roff_spelling(flag);
      if (s && s->env) out += (flag.empty() ? "Environment: " : "; environment: ");
      if (s && s->env) out += "\\fB" + roff(s->env) + "\\fR";
      if (!flag.empty() || (s && s->env)) out += ".\n";
    }
  }
  return out;
}

// "; " comment lines of at most 90 columns; "\n" starts a paragraph.
std::string comment(std::string_view text) {
  std::string out, line;
  auto flush = [&] {
    out += (line.empty() ? ";" : "; " + line) + "\n";
    line.clear();
  };
  for (size_t at = 0; at <= text.size();) {
    size_t nl = std::min(text.find('\n', at), text.size());
    if (at) flush();  // the empty line between paragraphs
    std::istringstream words{std::string(text.substr(at, nl - at))};
    for (std::string w; words >> w;) {
      if (!line.empty() && line.size() + 1 + w.size() > 88) flush();
      line += (line.empty() ? "" : " ") + w;
    }
    if (!line.empty()) flush();
    at = nl + 1;
  }
  return out;
}

std::string example_ini() {
  std::string out = comment(example_header());
  for (const SectionDoc& sec : section_docs()) {
    bool commented = sec.example_name != nullptr;
    out += "\n" + std::string(commented ? ";[" : "[") + (commented ? sec.example_name : sec.name) +
           "]\n" + comment(sec.doc);
    for (const Doc& d : docs()) {
      if (d.kind != Doc::Kind::key || std::strcmp(d.section, sec.name) != 0) continue;
      std::string value = d.example ? d.example : default_text(d);
      std::string text = what_it_is(d);
      std::string dflt = default_phrase(d);
      if (!dflt.empty() && (d.unset || value != default_text(d))) text += " " + capital(dflt) + ".";
      if (d.more) text += std::string(" ") + d.more;
      out += "\n" + comment(text) + (d.active && !commented ? "" : ";") + d.name + " =" +
             (value.empty() ? "" : " " + value) + "\n";
    }
  }
  return out;
}

// usage_text() for the daemon: --help as one C string.
std::string usage_cpp() {
  std::string out =
      "// Written by man/render_docs from src/config/docs.cpp at build time: --help.\n"
      "#include \"config/config.hpp\"\n\nnamespace pingmesh {\n\nconst char* usage_text() {\n  "
      "return\n";
  const std::string text = render_usage();
  for (size_t at = 0; at < text.size();) {
    size_t nl = std::min(text.find('\n', at), text.size());
    out += "      \"";
    for (char ch : text.substr(at, nl - at))
      out += ch == '"' || ch == '\\' ? std::string("\\") + ch : std::string(1, ch);
    out += nl < text.size() ? "\\n\"\n" : "\"\n";
    at = nl + 1;
  }
  return out + "      ;\n}\n\n}  // namespace pingmesh\n";
}

// SOURCE_DATE_EPOCH (reproducible builds) as YYYY-MM-DD, else the release date.
std::string build_date(const char* release_date) {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (!epoch || !*epoch) return release_date;
  char* end = nullptr;
  long long t = std::strtoll(epoch, &end, 10);
  if (*end || t < 0) {
    std::fprintf(stderr, "render_docs: SOURCE_DATE_EPOCH '%s' is not a number\n", epoch);
    std::exit(1);
  }
  std::time_t tt = std::time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// "@WORD@": a placeholder this program does not know.
bool has_placeholder(std::string_view line) {
  for (size_t at = line.find('@'); at != line.npos; at = line.find('@', at + 1)) {
    size_t end = at + 1;
    while (end < line.size() &&
           (std::isupper(static_cast<unsigned char>(line[end])) || line[end] == '_'))
      ++end;
    if (end > at + 1 && end < line.size() && line[end] == '@') return true;
  }
  return false;
}

std::string fill_template(const char* path, const char* release_date) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "render_docs: cannot read %s\n", path);
    std::exit(1);
  }
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line == "@OPTIONS@") {
      out += options();
    } else if (line == "@ENVIRONMENT@") {
      out += environment();
    } else if (line == "@SECTIONS@") {
      out += sections();
    } else {
      for (auto [key, value] : {std::pair<std::string, std::string>{"@VERSION@", PINGMESH_VERSION},
                                {"@DATE@", build_date(release_date)}})
        for (size_t at; (at = line.find(key)) != std::string::npos;)
          line.replace(at, key.size(), value);
      if (has_placeholder(line)) {
        std::fprintf(stderr, "render_docs: %s: a placeholder no one fills: %s\n", path,
                     line.c_str());
        std::exit(1);
      }
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto problems = doc_problems(); !problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "src/config/docs.cpp: %s\n", p.c_str());
    return 1;
  }
  std::string_view what = argc > 1 ? argv[1] : "";
  std::string text;
  const char* out_path = nullptr;
  if ((what == "man8" || what == "man5") && argc == 5) {
    text = fill_template(argv[2], argv[4]);
    out_path = argv[3];
  } else if (what == "ini" && argc == 3) {
    text = example_ini();
    out_path = argv[2];
  } else if (what == "usage" && argc == 3) {
    text = usage_cpp();
    out_path = argv[2];
  } else {
    std::fprintf(
        stderr,
        "usage: render_docs man8|man5 TEMPLATE OUT RELEASE-DATE | render_docs ini|usage OUT\n");
    return 64;
  }
  std::ofstream out(out_path);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "render_docs: cannot write %s\n", out_path);
    return 1;
  }
  return 0;
}
