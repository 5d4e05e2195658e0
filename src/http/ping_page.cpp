#include "http/ping_page.hpp"

#include "text/json_reader.hpp"
#include "text/printable.hpp"

namespace pingmesh {

std::string ping_page(std::string_view location) {
  std::string page;
  page.reserve(96 + 2 * location.size());
  page += "<html><head><title>";
  page += location;
  page += "</title></head><body>\n<h1> pingResponse </h1><p>Served from ";
  page += location;
  page += "\n\n</body></html>\n";
  return page;
}

bool is_pingmesh_path(std::string_view path) {
  return path.ends_with("/v1/ping") || path.ends_with("/v1/peers") || path.ends_with("/v1/addpeer");
}

// Whatever the peer sent is data to show, never control: printable_text.
std::string extract_location(std::string_view body, bool json) {
  if (json) return printable_text(json::top_level_string(body, "SrvLoc").value_or(""));
  std::string_view prefix = "<p>Served from ";
  std::string_view suffix = "\n";
  auto start = body.find(prefix);
  if (start == std::string_view::npos) return {};
  start += prefix.size();
  auto end = body.find(suffix, start);
  if (end == std::string_view::npos) return {};
  return printable_text(body.substr(start, end - start));
}

}  // namespace pingmesh
