#include "export/text_sink.hpp"

#include <ctime>

#include "export/text_format.hpp"

namespace pingmesh {

void TextSink::print(const std::string& text) {
  out_.write(text);
}

void TextSink::print_header() {
  if (verbosity_ > 1) print(text_header());
}

void TextSink::on_sample(const Sample& s, int successes) noexcept {
  if (verbosity_ <= 0) return;
  if (verbosity_ == 1 && s.ok())
    print(text_short_line(successes, s));
  else
    print(std::to_string(successes) + " " + text_row(s) + "\n");
}

void TextSink::on_peer_summary(const PeerTotals& totals) noexcept {
  print(text_summary(totals, time(nullptr)));
}

}  // namespace pingmesh
