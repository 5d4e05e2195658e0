// What the docs table says, put together: defaults and ranges asked of the settings
// themselves, flags spelled as --help spells them, the checks that hold the docs and the
// settings table together, and --help.
#include <cstring>
#include <set>
#include <tuple>

#include "config/config.hpp"
#include "config/docs.hpp"
#include "config/settings.hpp"

namespace pingmesh {

namespace {

using K = Doc::Kind;
using H = HelpGroup;

bool printable_line(const char* s) {
  for (; *s; ++s)
    if (*s < ' ' || *s > '~') return false;
  return true;
}

}  // namespace

const Setting* setting_of(const Doc& d) {
  switch (d.kind) {
    case K::key:
      return find_setting_by_key(d.section, d.name);
    case K::flag:
      return find_setting_by_flag(d.name);
    case K::env:
      for (const Setting* s = settings_begin(); s != settings_end(); ++s)
        if (s->env && std::strcmp(s->env, d.name) == 0) return s;
  }
  return nullptr;
}

std::string default_text(const Doc& d) {
  const Setting* s = setting_of(d);
  return s && s->show ? s->show(Config{}) : std::string();
}

std::string default_phrase(const Doc& d) {
  std::string value = default_text(d);
  if (!value.empty() && d.unset) return "default " + value + ": " + d.unset;
  if (!value.empty()) return "default " + value;
  if (d.unset) return std::string("default: ") + d.unset;
  return {};
}

std::string flag_spelling(const Doc& d) {
  const char* flag = d.name;
  const char* value = d.value;
  if (d.kind == K::key) {
    const Setting* s = setting_of(d);
    if (!s || !s->flag) return {};
    flag = s->flag;
    if (!s->takes_value) value = nullptr;
  } else if (d.kind == K::env) {
    return {};
  }
  auto dashed = [](const char* f) { return (std::strlen(f) == 1 ? "-" : "--") + std::string(f); };
  std::string out = dashed(flag);
  if (d.alias) out += ", " + dashed(d.alias);
  if (value) out += std::string(" ") + value;
  return out;
}

const char* help_group_title(HelpGroup g) {
  switch (g) {
    case H::general:
      return "General";
    case H::probing:
      return "Probing";
    case H::tls:
      return "TLS, probing https:// peers";
    case H::answering:
      return "Answering probes";
    case H::output:
      return "Output";
    case H::none:
      break;
  }
  return "";
}

std::string plain(const char* text) {
  std::string out;
  for (; text && *text; ++text)
    if (*text != '`') out += *text;
  return out;
}

std::string accepted_text(const Doc& d) {
  const Setting* s = setting_of(d);
  if (!s || !s->takes_value) return {};
  Config scratch;
  std::string why = s->apply(scratch, "?");
  constexpr std::string_view prefix = "'?' is not ";
  return why.starts_with(prefix) ? why.substr(prefix.size()) : std::string();
}

std::vector<std::string> doc_problems() {
  std::vector<std::string> out;
  auto count = [](K kind, const char* section, const char* name) {
    int n = 0;
    for (const Doc& d : docs())
      if (d.kind == kind && std::strcmp(d.name, name) == 0 &&
          (!section || (d.section && std::strcmp(d.section, section) == 0)))
        ++n;
    return n;
  };
  for (const Setting* s = settings_begin(); s != settings_end(); ++s) {
    std::string what = s->section ? std::string("[") + s->section + "] " + s->key
                       : s->flag  ? std::string("flag ") + s->flag
                                  : std::string("variable ") + (s->env ? s->env : "?");
    int n = s->section ? count(K::key, s->section, s->key)
            : s->flag  ? count(K::flag, nullptr, s->flag)
            : s->env   ? count(K::env, nullptr, s->env)
                       : 1;
    if (n != 1) out.push_back(what + ": " + std::to_string(n) + " docs (one is needed)");
  }
  std::set<std::tuple<int, std::string, std::string>> seen;
  for (const Doc& d : docs()) {
    std::string what = d.section ? std::string("[") + d.section + "] " + d.name : d.name;
    if (!seen.emplace(int(d.kind), d.section ? d.section : "", d.name).second)
      out.push_back(what + ": documented twice");
    if (!d.doc || !*d.doc || !printable_line(d.doc))
      out.push_back(what + ": doc is not one printable ASCII line");
    for (const char* text : {d.unset, d.more, d.example, d.value, d.alias})
      if (text && !printable_line(text)) out.push_back(what + ": not printable ASCII");
    const Setting* s = setting_of(d);
    bool loader_key = d.section && (std::strcmp(d.section, "peers") == 0 ||
                                    std::strncmp(d.section, "peer ", 5) == 0);
    if (d.kind == K::key) {
      if (!d.section) out.push_back(what + ": a key needs its section");
      if (!s && !loader_key) out.push_back(what + ": no such setting");
      bool listed = false;
      for (const SectionDoc& sec : section_docs())
        listed = listed || (d.section && std::strcmp(sec.name, d.section) == 0);
      if (!listed) out.push_back(what + ": its section has no SectionDoc");
      if (!d.value) out.push_back(what + ": a key needs a value name");
    }
    if (d.kind == K::flag && s && s->section)
      out.push_back(what + ": the flag of [" + s->section + "] " + s->key + ", documented there");
    bool has_flag = !flag_spelling(d).empty();
    if (has_flag && d.help == H::none) out.push_back(what + ": a flag needs a help group");
    if (!has_flag && d.help != H::none) out.push_back(what + ": a help group but no flag");
    if (d.kind == K::flag && s && s->takes_value != (d.value != nullptr))
      out.push_back(what + ": value name and the setting disagree on taking a value");
    if (d.active && d.section && std::strncmp(d.section, "peer ", 5) == 0)
      out.push_back(what + ": a [peer NAME] example is commented out");
  }
  return out;
}

std::string render_usage() {
  std::string out = usage_head();
  for (auto group : {H::general, H::probing, H::tls, H::answering, H::output}) {
    out += std::string("\n") + help_group_title(group) + ":\n";
    for (const Doc& d : docs()) {
      if (d.help != group) continue;
      std::string flag = flag_spelling(d);
      std::string line = "  " + flag + std::string(flag.size() < 20 ? 20 - flag.size() : 0, ' ') +
                         " " + plain(d.doc);
      if (std::string dflt = default_phrase(d); !dflt.empty()) line += " (" + dflt + ")";
      out += line + "\n";
    }
  }
  return out + usage_tail();
}

}  // namespace pingmesh
