// What every ini key, flag and environment variable means: the one source of --help,
// pingmesh(8), pingmesh.ini(5) and the example pingmesh.ini, all written at build time by
// man/render_docs.cpp (library pingmesh_config_docs; the daemon does not link it). The
// settings table (settings.hpp) says which keys, flags and variables there are; this
// table explains them, and doc_problems() holds the two together, so the build fails
// when a setting has no doc or a doc names nothing.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace pingmesh {

struct Setting;

// Where --help and pingmesh(8) list a flag.
enum class HelpGroup { none, general, probing, tls, answering, output };

struct Doc {
  enum class Kind { key, flag, env };
  Kind kind = Kind::key;
  // key: its ini section ("node", "peers", "peer NAME"); else nullptr.
  const char* section = nullptr;
  // key: the ini key; flag: the flag without dashes; env: the variable.
  const char* name = nullptr;
  // What the value is called (N, FILE; LIST: comma separated); nullptr: a switch.
  const char* value = nullptr;
  // One line, lower case, no full stop; `code` is shown in bold on the pages.
  const char* doc = nullptr;
  const char* unset = nullptr;       // what the default (or an empty value) means: "off"
  const char* more = nullptr;        // sentences for the pages and the example, not --help
  HelpGroup help = HelpGroup::none;  // for a flag, or a key whose setting has one
  const char* alias = nullptr;       // flag: a second spelling ("config" for C)
  const char* example = nullptr;     // the example ini's value, instead of the default
  bool active = false;               // the example ini sets it (the line has no ';')
};

// Sections in the order the pages and the example show them.
struct SectionDoc {
  const char* name;          // "node", "peer NAME"
  const char* doc;           // sentences; "\n" starts a paragraph
  const char* example_name;  // for "peer NAME": the example's name; its lines are commented
};

std::span<const Doc> docs();
std::span<const SectionDoc> section_docs();
// The example ini's opening comment; "\n" starts a paragraph.
const char* example_header();
// --help around the flags: usage and a line of what it does; precedence and exit codes.
const char* usage_head();
const char* usage_tail();
// --help: the head, each group's flags one line each, the tail. The build writes it into
// the daemon as usage_text() (man/render_docs), so the daemon does not link this table.
std::string render_usage();

// The settings-table entry a doc explains; nullptr for names the loader handles itself
// ([peers], [peer NAME], -C, REP_LOCATION).
const Setting* setting_of(const Doc& d);
// Its value in a default Config, as the ini file says it ("" when none).
std::string default_text(const Doc& d);
// "default 10", "default 0: off", "default: the system's", or "".
std::string default_phrase(const Doc& d);
// What the setting takes, in its own error message's words ("a whole number from 1 to
// 86400", "yes or no"; a LIST's message is about one item); "" when it takes any text.
std::string accepted_text(const Doc& d);
// "-d N", "--timeout S", "-C, --config FILE"; "" for a key without a flag.
std::string flag_spelling(const Doc& d);
// Each way docs and settings disagree: a setting without a doc, a doc of no setting, a
// doc that is not one printable ASCII line. Empty when they agree.
std::vector<std::string> doc_problems();

// "Probing": a group's heading in --help and pingmesh(8).
const char* help_group_title(HelpGroup g);

// `code` -> code: the plain text of a doc (for --help and the example ini).
std::string plain(const char* text);

}  // namespace pingmesh
