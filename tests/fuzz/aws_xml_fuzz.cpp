// AWS's XML error document, as CloudWatch's reply body reaches CloudWatchSink: the
// <Code> and <Message> it logs and decides on.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "export/cloudwatch_sink.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  std::string code = pingmesh::xml_field(body, "Code");
  std::string message = pingmesh::xml_field(body, "Message");
  if (code.size() > body.size() || message.size() > body.size()) std::abort();
  if (code.find("</Code>") != std::string::npos) std::abort();
  return 0;
}
