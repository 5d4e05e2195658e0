// Pieces of the Prometheus text exposition format (version 0.0.4), appended to a string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pingmesh::exposition {

// The Content-Type of a scrape's answer.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// "# HELP name help\n# TYPE name type\n": a family's head, once before all its series.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help);

// A label value between its quotes: backslash, double quote and newline escaped. Bytes
// that are not UTF-8 become U+FFFD, since Prometheus refuses a whole scrape for one
// invalid label value.
void label_value(std::string& out, std::string_view v);

// A sample value: integers as integers, others in the shortest form that reads back
// the same double; "NaN", "+Inf", "-Inf".
void value(std::string& out, uint64_t v);
void value(std::string& out, int64_t v);
void value(std::string& out, double v);

}  // namespace pingmesh::exposition
