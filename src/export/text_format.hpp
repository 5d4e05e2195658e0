// The original pingmesh's text output, byte for byte.
#pragma once

#include <cstdint>
#include <string>

#include "pingmesh/sample.hpp"

namespace pingmesh {

// "# timestamp\tDNS\t…\tproto://uri\n"
const std::string& text_header();
// One tab-separated row without a newline: the original's MsecTsv().
std::string text_row(const Sample& s);
// The default verbosity's line: "%3d %8.03f msec %20s %s\n".
std::string text_short_line(int successes, const Sample& s);
// "16s", "1m05s", "2h03m04s", "1d2h03m04s".
std::string format_elapsed(int64_t seconds);
// The per-peer summary printed when a peer ends, leading and trailing blank lines included.
std::string text_summary(const PeerTotals& p, int64_t now_unix_s);

}  // namespace pingmesh
