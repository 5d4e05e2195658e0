#include "mesh/sparkline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pingmesh {

namespace {

constexpr double kWidth = 120, kHeight = 24;

std::string number(double v) {
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

std::string sparkline_svg(const RecentTotals& r) {
  uint32_t lo = UINT32_MAX, hi = 0;
  size_t failed = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    uint32_t v = r.at(i);
    if (v == RecentTotals::kFailed) {
      ++failed;
      continue;
    }
    lo = std::min(lo, std::max<uint32_t>(v, 1));
    hi = std::max(hi, std::max<uint32_t>(v, 1));
  }
  double step = kWidth / double(RecentTotals::kPoints - 1);
  // The newest point at the right edge, whatever the ring holds.
  auto x = [&](size_t i) { return kWidth - double(r.size() - 1 - i) * step; };
  double span = hi > lo ? std::log(double(hi)) - std::log(double(lo)) : 0;
  auto y = [&](uint32_t v) {
    if (span == 0) return kHeight / 2;
    double f = (std::log(double(std::max<uint32_t>(v, 1))) - std::log(double(lo))) / span;
    return kHeight - 3 - f * (kHeight - 6);
  };
  std::string o = "<svg class=\"spark\" width=\"120\" height=\"24\" viewBox=\"0 0 120 24\">";
  char title[96];
  if (hi > 0)
    std::snprintf(title, sizeof title, "<title>last %zu: %.3f to %.3f ms, %zu failed</title>",
                  r.size(), lo / 1e3, hi / 1e3, failed);
  else
    std::snprintf(title, sizeof title, "<title>last %zu: all failed</title>", r.size());
  o += title;
  std::string path;
  bool pen_down = false;
  for (size_t i = 0; i < r.size(); ++i) {
    uint32_t v = r.at(i);
    if (v == RecentTotals::kFailed) {
      o += "<rect class=\"f\" x=\"" + number(x(i) - 1) + "\" y=\"20\" width=\"2\" height=\"4\"/>";
      pen_down = false;
      continue;
    }
    path += (pen_down ? "L" : "M") + number(x(i)) + " " + number(y(v));
    pen_down = true;
  }
  if (!path.empty()) o += "<path d=\"" + path + "\"/>";
  o += "</svg>";
  return o;
}

}  // namespace pingmesh
