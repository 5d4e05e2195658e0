#include "mesh/sparkline.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>

namespace pingmesh {

namespace {

constexpr double kWidth = 120, kHeight = 24;

std::string number(double v) {
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// ln(v) for v >= 1 without libm, which the static build otherwise does without (it maps
// 300 KB into the process for this one call): v = m * 2^e with m in [1, 2), and
// ln m = 2 atanh(z), z = (m - 1) / (m + 1) in [0, 1/3); ten terms are good to 1e-10, far
// below a pixel.
double ln(uint32_t v) {
  uint64_t bits = std::bit_cast<uint64_t>(double(v));
  int e = int(bits >> 52) - 1023;
  double m = std::bit_cast<double>((bits & ((uint64_t(1) << 52) - 1)) | (uint64_t(1023) << 52));
  double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
  for (int k = 1; k < 20; k += 2, term *= z2) sum += term / k;
  return 2 * sum + e * 0.6931471805599453;
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
  double span = hi > lo ? ln(hi) - ln(lo) : 0;
  auto y = [&](uint32_t v) {
    if (span == 0) return kHeight / 2;
    double f = (ln(std::max<uint32_t>(v, 1)) - ln(lo)) / span;
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
