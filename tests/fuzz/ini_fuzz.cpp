// The configuration file through load_config, as `pingmesh -C FILE` reads it: the input
// is the file. A [peers] file = peers.txt beside it is there to be named. Config errors
// (ConfigError, UsageError) are answers; any other exception, or a crash, is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.hpp"

namespace {

std::string make_dir() {
  // Memory-backed where there is one: a disk's truncate per input costs half the rate.
  const char* tmp = std::getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string templ = std::string(tmp) + "/pingmesh-fuzz-ini-XXXXXX";
  if (!mkdtemp(templ.data())) std::abort();
  std::string peers = templ + "/peers.txt";
  FILE* f = std::fopen(peers.c_str(), "w");
  if (!f) std::abort();
  std::fputs("# peers\nhttp://127.0.0.1:8080/v1/ping#here\n[::1]:8443/v1/ping\n", f);
  std::fclose(f);
  return templ;
}

struct Dir {
  std::string path = make_dir();
  ~Dir() {
    std::remove((path + "/pingmesh.ini").c_str());
    std::remove((path + "/peers.txt").c_str());
    rmdir(path.c_str());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Dir dir;
  const std::string ini = dir.path + "/pingmesh.ini";
  FILE* f = std::fopen(ini.c_str(), "w");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) std::abort();

  pingmesh::CommandLine cl;
  cl.config_path = ini;
  auto no_environment = [](const char*) -> const char* { return nullptr; };
  try {
    auto loaded = pingmesh::load_config(cl, no_environment);
    std::string text = pingmesh::describe(loaded.config);
    if (text.empty()) std::abort();
  } catch (const pingmesh::ConfigError& e) {
    if (!*e.what()) std::abort();
  } catch (const pingmesh::UsageError& e) {
    if (!*e.what()) std::abort();
  }
  return 0;
}
