// AWS's XML error document, as CloudWatch's reply body reaches CloudWatchSink: the
// <Code> and <Message> it logs and decides on.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "export/cloudwatch_sink.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  std::string code = pingmesh::xml_field(body, "Code");
  std::string message = pingmesh::xml_field(body, "Message");
  // A value is what stands between its tags, up to the first closing one.
  for (auto [tag, value] : {std::pair{"Code", code}, std::pair{"Message", message}}) {
    std::string close = std::string("</") + tag + ">";
    if (!value.empty() &&
        (body.find(std::string("<") + tag + ">" + value + close) == std::string::npos ||
         value.find(close) != std::string::npos))
      std::abort();
  }
  return 0;
}
