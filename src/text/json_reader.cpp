#include "text/json_reader.hpp"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include <algorithm>
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

struct Document::Tokens {
  std::vector<jsmntok_t> v;
};

Document::Document(std::string_view json, size_t max_bytes, int max_tokens)
    : json_(json), tokens_(new Tokens) {
  if (json.size() > max_bytes) return;
  // A token takes two bytes of input at least: never reserve more than the input can use.
  max_tokens = int(std::min<size_t>(size_t(max_tokens), json.size() / 2 + 2));
  jsmn_parser parser;
  jsmn_init(&parser);
  tokens_->v.resize(size_t(max_tokens));
  int n = jsmn_parse(&parser, json.data(), json.size(), tokens_->v.data(), unsigned(max_tokens));
  if (n < 1) return;
  count_ = n;
  tokens_->v.resize(size_t(n));
  ok_ = true;
}

Document::~Document() {
  delete tokens_;
}

bool Document::is_object(int t) const {
  return ok_ && t >= 0 && t < count_ && tokens_->v[size_t(t)].type == JSMN_OBJECT;
}

bool Document::is_array(int t) const {
  return ok_ && t >= 0 && t < count_ && tokens_->v[size_t(t)].type == JSMN_ARRAY;
}

int Document::member(int object, std::string_view key) const {
  if (!is_object(object)) return -1;
  for (int i = object + 1; i + 1 < count_; ++i) {
    const jsmntok_t& k = tokens_->v[size_t(i)];
    if (k.start >= tokens_->v[size_t(object)].end) break;  // past the object
    if (k.parent != object || k.type != JSMN_STRING) continue;
    if (string(i) == std::string(key)) return i + 1;
  }
  return -1;
}

std::vector<int> Document::items(int array) const {
  std::vector<int> out;
  if (!is_array(array)) return out;
  for (int i = array + 1; i < count_; ++i) {
    if (tokens_->v[size_t(i)].start >= tokens_->v[size_t(array)].end) break;
    if (tokens_->v[size_t(i)].parent == array) out.push_back(i);
  }
  return out;
}

std::optional<std::string> Document::string(int t) const {
  if (!ok_ || t < 0 || t >= count_ || tokens_->v[size_t(t)].type != JSMN_STRING)
    return std::nullopt;
  const jsmntok_t& k = tokens_->v[size_t(t)];
  return decode(json_.substr(size_t(k.start), size_t(k.end - k.start)));
}

std::optional<long long> Document::integer(int t) const {
  if (!ok_ || t < 0 || t >= count_ || tokens_->v[size_t(t)].type != JSMN_PRIMITIVE)
    return std::nullopt;
  const jsmntok_t& k = tokens_->v[size_t(t)];
  std::string_view text = json_.substr(size_t(k.start), size_t(k.end - k.start));
  if (text.empty() || text.size() > 18) return std::nullopt;
  long long v = 0;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size()) return std::nullopt;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v = v * 10 + (text[i] - '0');
  }
  return text[0] == '-' ? -v : v;
}

std::optional<bool> Document::boolean(int t) const {
  if (!ok_ || t < 0 || t >= count_ || tokens_->v[size_t(t)].type != JSMN_PRIMITIVE)
    return std::nullopt;
  const jsmntok_t& k = tokens_->v[size_t(t)];
  std::string_view text = json_.substr(size_t(k.start), size_t(k.end - k.start));
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

}  // namespace pingmesh::json
