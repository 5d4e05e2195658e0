// The page's mesh matrix: who measures whom, from our own peers (the first row) and the
// listings of the nodes we read (the other rows). A node is one row and one column
// whatever name each lister gives it: a target is matched to a row by the URL it is read
// at, then by the location it says of itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/mesh_view.hpp"

namespace pingmesh {

struct MatrixCell {
  enum class State : uint8_t { none, ok, fail } state = State::none;
  int64_t pings = 0, fails = 0;
  double mean_tcp_ms = 0, mean_total_ms = 0;
};

struct MeshMatrix {
  struct Node {
    std::string key;    // the identity the node goes by
    std::string label;  // what it calls itself (SrvLoc), else key
    std::string note;   // for a row: where its data comes from
  };
  std::vector<Node> rows;     // from: us first, then the nodes whose listings we read
  std::vector<Node> columns;  // to: the rows' nodes in their order, then nodes only probed
  std::vector<std::vector<MatrixCell>> cells;  // [row][column]
};

// A pair fails when it has failures and no success for three of its intervals (5 s at
// least): one lost probe does not paint it red, a dead peer soon does.
MatrixCell matrix_cell(int64_t pings, int64_t fails, int64_t tcp_sum_ns, int64_t total_sum_ns,
                       int64_t latest_ok_unix_s, double interval_s, int64_t as_of_unix_s);

MeshMatrix build_matrix(const MeshView& view, const PeerSet& peers, int64_t now_unix_ns);

}  // namespace pingmesh
