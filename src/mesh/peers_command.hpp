// `pingmesh peers [-k] URL`: a node's /v1/peers as a table (the original's avgping), for a
// quick look from a shell. Reads with the probe's own stack on a loop of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/url.hpp"
#include "mesh/listing.hpp"

namespace pingmesh {

// argv[0] is "peers". Exit 0 when the node was read, 1 when it could not be (why on
// stderr), 64 for bad usage.
int peers_command(int argc, const char* const* argv);

// "host:port", "host:port/", a node's /v1/ping or a full URL: where its listing is.
std::optional<Url> listing_url_for(std::string_view arg, std::string* why);

// Aligned columns: location, pings, fails, start, duration, mean RTT (TCP), mean total,
// address; times in ms with 3 decimals.
std::string listing_table(const Listing& l);

}  // namespace pingmesh
