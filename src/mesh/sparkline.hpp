// A peer's recent totals as a small inline SVG: a line on a log scale between the
// window's fastest and slowest, a red tick at the foot for each failure.
#pragma once

#include <string>

#include "export/recent_totals.hpp"

namespace pingmesh {

std::string sparkline_svg(const RecentTotals& r);

}  // namespace pingmesh
