#include "aws/sigv4.hpp"

#include <mbedtls/md.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace pingmesh {

namespace sigv4 {

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

const mbedtls_md_info_t* sha256() {
  return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  mbedtls_md_hmac(sha256(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// Header values are signed trimmed, inner runs of spaces made one.
std::string trimmed(std::string_view v) {
  std::string out;
  for (char c : v) {
    bool space = c == ' ' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A few pairs, by name then value: an insertion sort, smaller than std::sort's code.
void sort_pairs(HttpHeaders& v) {
  for (size_t i = 1; i < v.size(); ++i)
    for (size_t j = i; j > 0 && v[j] < v[j - 1]; --j) std::swap(v[j], v[j - 1]);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char out[32];
  mbedtls_md(sha256(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return hex(out, sizeof out);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  std::string mac = hmac(key, data);
  return hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k = hmac("AWS4" + std::string(secret), date);
  k = hmac(k, region);
  k = hmac(k, service);
  return hmac(k, "aws4_request");
}

std::string canonical_path(std::string_view path) {
  if (path.empty()) return "/";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += char(c);
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  HttpHeaders params;
  for (size_t at = 0; at < query.size();) {
    size_t end = std::min(query.find('&', at), query.size());
    std::string_view p = query.substr(at, end - at);
    at = end + 1;
    if (p.empty()) continue;
    size_t eq = p.find('=');
    params.emplace_back(std::string(p.substr(0, eq)),
                        eq == std::string_view::npos ? "" : std::string(p.substr(eq + 1)));
  }
  sort_pairs(params);
  std::string out;
  for (auto& [k, v] : params) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

std::string amz_date(int64_t unix_s) {
  time_t t = time_t(unix_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[20];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::pair<std::string, std::string> canonical_request(const Request& r) {
  HttpHeaders h;
  for (auto& [name, value] : r.headers) h.emplace_back(lower(name), trimmed(value));
  sort_pairs(h);
  std::string headers, names;
  for (size_t i = 0; i < h.size(); ++i) {
    if (i > 0 && h[i].first == h[i - 1].first) {  // repeated: one line, values comma-joined
      headers.insert(headers.size() - 1, "," + h[i].second);
      continue;
    }
    headers += h[i].first + ":" + h[i].second + "\n";
    names += (names.empty() ? "" : ";") + h[i].first;
  }
  std::string c;
  c.reserve(256 + headers.size());
  c.append(r.method).append("\n");
  c.append(r.path.empty() ? std::string_view("/") : r.path).append("\n");
  c.append(r.query).append("\n");
  c.append(headers).append("\n");
  c.append(names).append("\n");
  c.append(sha256_hex(r.body));
  return {std::move(c), std::move(names)};
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical) {
  std::string s = "AWS4-HMAC-SHA256\n";
  s.append(amz_date).append("\n").append(scope).append("\n").append(sha256_hex(canonical));
  return s;
}

}  // namespace sigv4

void SigV4Signer::set_credentials(AwsCredentials c) {
  if (c.secret_access_key != credentials_.secret_access_key) key_date_.clear();
  credentials_ = std::move(c);
}

void SigV4Signer::sign(sigv4::Request& r, int64_t unix_s) {
  std::string when = sigv4::amz_date(unix_s);
  std::string date = when.substr(0, 8);
  r.headers.emplace_back("X-Amz-Date", when);
  if (!credentials_.session_token.empty())
    r.headers.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  if (date != key_date_) {
    key_ = sigv4::signing_key(credentials_.secret_access_key, date, region_, service_);
    key_date_ = date;
  }
  std::string scope = date + "/" + region_ + "/" + service_ + "/aws4_request";
  auto [canonical, names] = sigv4::canonical_request(r);
  std::string signature =
      sigv4::hmac_sha256_hex(key_, sigv4::string_to_sign(when, scope, canonical));
  r.headers.emplace_back("Authorization",
                         "AWS4-HMAC-SHA256 Credential=" + credentials_.access_key_id + "/" + scope +
                             ", SignedHeaders=" + names + ", Signature=" + signature);
}

}  // namespace pingmesh
