#include "text/json_reader.hpp"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include <vector>

namespace pingmesh::json {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four hex digits at s[at]; -1 if they are not.
long hex4(std::string_view s, size_t at) {
  if (at + 4 > s.size()) return -1;
  long v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    int d = hex_digit(s[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Writes cp as UTF-8 at p; returns the end.
char* put_utf8(char* p, unsigned long cp) {
  if (cp < 0x80) {
    *p++ = char(cp);
  } else if (cp < 0x800) {
    *p++ = char(0xC0 | (cp >> 6));
    *p++ = char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *p++ = char(0xE0 | (cp >> 12));
    *p++ = char(0x80 | ((cp >> 6) & 0x3F));
    *p++ = char(0x80 | (cp & 0x3F));
  } else {
    *p++ = char(0xF0 | (cp >> 18));
    *p++ = char(0x80 | ((cp >> 12) & 0x3F));
    *p++ = char(0x80 | ((cp >> 6) & 0x3F));
    *p++ = char(0x80 | (cp & 0x3F));
  }
  return p;
}

// What an escape stands for, or 0 if it is not one of JSON's.
char simple_escape(char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '/':
      return '/';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return 0;
  }
}

// A string token's text (between the quotes) with its escapes decoded. nullopt for what
// JSON does not allow: raw control characters, unknown escapes, unpaired surrogates,
// and NUL (\u0000), which no caller can carry as text. Decoding never lengthens the
// text (\uXXXX is 6 bytes for at most 3), so it is written in place of a copy.
std::optional<std::string> decode(std::string_view s) {
  std::string out(s.size(), '\0');
  char* p = out.data();
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20) return std::nullopt;
    if (c != '\\') {
      *p++ = char(c);
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    if (s[i] != 'u') {
      char e = simple_escape(s[i]);
      if (!e) return std::nullopt;
      *p++ = e;
      continue;
    }
    long cp = hex4(s, i + 1);
    i += 4;
    if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return std::nullopt;
    if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate: its low half must follow
      if (i + 2 >= s.size() || s[i + 1] != '\\' || s[i + 2] != 'u') return std::nullopt;
      long low = hex4(s, i + 3);
      if (low < 0xDC00 || low > 0xDFFF) return std::nullopt;
      i += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    p = put_utf8(p, static_cast<unsigned long>(cp));
  }
  out.resize(size_t(p - out.data()));
  return out;
}

}  // namespace

std::optional<std::string> top_level_string(std::string_view json, std::string_view key) {
  if (json.size() > kMaxInputBytes) json = json.substr(0, kMaxInputBytes);
  jsmn_parser parser;
  jsmn_init(&parser);
  std::vector<jsmntok_t> tokens(kMaxTokens);
  int n = jsmn_parse(&parser, json.data(), json.size(), tokens.data(), kMaxTokens);
  // Cut short (by the sender, or by our bounds): the tokens made so far are whole.
  if (n == JSMN_ERROR_PART || n == JSMN_ERROR_NOMEM) n = int(parser.toknext);
  if (n < 1 || tokens[0].type != JSMN_OBJECT) return std::nullopt;
  auto text = [&](const jsmntok_t& t) {
    return json.substr(size_t(t.start), size_t(t.end - t.start));
  };
  // The object's own keys are the tokens whose parent is token 0; each key's value is
  // the next token, whose parent is the key. Nested members have other parents.
  for (int i = 1; i + 1 < n; ++i) {
    const jsmntok_t& k = tokens[size_t(i)];
    if (k.parent != 0 || k.type != JSMN_STRING || k.end < 0) continue;
    const jsmntok_t& v = tokens[size_t(i) + 1];
    if (v.parent != i || v.end < 0) continue;
    if (decode(text(k)) != std::string(key)) continue;
    if (v.type != JSMN_STRING) return std::nullopt;
    return decode(text(v));
  }
  return std::nullopt;
}

}  // namespace pingmesh::json
