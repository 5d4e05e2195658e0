// Reading one setting's text, the same way for the command line, the environment and
// the ini file. Each returns nullopt when the text is not acceptable; why() says why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pingmesh::values {

// Numbers are decimal digits only ("10", and "2.5" where seconds allow a fraction): no
// sign, whitespace, hex or exponent, on the command line, in the environment and the file.
// 64 bits on every architecture: a 32-bit long (armhf) reads the same ranges.
std::optional<int64_t> integer(std::string_view text, int64_t min, int64_t max);
std::optional<double> seconds(std::string_view text, double min, double max);
std::optional<bool> boolean(std::string_view text);     // yes/no, true/false, on/off, 1/0
std::optional<std::string> pin(std::string_view text);  // base64 SHA-256, "sha256//" allowed
bool ip_address(std::string_view text);
// "192.0.2.1", "192.0.2.1:53", "[2001:db8::1]:53" or "2001:db8::1" (a bare IPv6 address
// has no port): an IP address and the port if one is given; nullopt if it is not one.
struct IpPort {
  std::string_view ip;
  std::optional<int> port;
};
std::optional<IpPort> ip_port(std::string_view text);
// "a, b,c" -> {"a", "b", "c"}: comma separated, spaces around items dropped.
std::vector<std::string_view> list(std::string_view text);
std::string_view trim(std::string_view text);

std::string integer_range(int64_t min, int64_t max);  // "a whole number from 1 to 86400"
std::string seconds_range(double min, double max);    // "a number of seconds from 0.1 to 300"

}  // namespace pingmesh::values
