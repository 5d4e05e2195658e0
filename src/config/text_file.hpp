// Reading the files a configuration names: only regular files, and only small ones, so
// a directory, a device or a FIFO is an error and not an empty or endless file.
#pragma once

#include <cstddef>
#include <string>

namespace pingmesh {

// The bound for the ini file, a [peers] file and the shared credentials file.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// "" with the file's bytes in *out; else why not: "a directory", "not a regular file",
// "larger than N bytes", or the system's words ("No such file or directory").
std::string read_text_file(const std::string& path, size_t max_bytes, std::string* out);

// The file's modification time ("sec.nsec"), "-" if it cannot be read: in a key, a
// renewed certificate or CA file makes the key change.
std::string file_stamp(const std::string& path);

// "" when path is a regular file we may read (certificates, keys, CA files), else why not.
std::string regular_file_problem(const std::string& path);

}  // namespace pingmesh
