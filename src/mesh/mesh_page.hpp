// GET /: one self-contained HTML page (inline CSS, no script, no external asset): the mesh
// matrix, our peers with their last sample, loss, percentiles and sparklines, and the
// routes. It reloads itself every refresh interval.
#pragma once

#include <cstdint>
#include <string>

#include "export/metrics.hpp"
#include "http/routes.hpp"
#include "mesh/mesh_view.hpp"
#include "mesh/peer_set.hpp"

namespace pingmesh {

std::string render_mesh_page(const MeshView& view, const PeerSet& peers, const Metrics& metrics,
                             const Routes& routes, int64_t now_unix_ns);

}  // namespace pingmesh
