// pingmesh: parse the command line, build the daemon, run it; errors become exit codes.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "log/log.hpp"

int main(int argc, char** argv) {
  using namespace pingmesh;
  // A peer that resets mid-write must give an error code, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  CommandLine cl;
  try {
    cl = parse_command_line(argc, argv, [](const char* name) { return std::getenv(name); });
  } catch (const UsageError& e) {
    std::fprintf(stderr, "pingmesh: %s\nTry 'pingmesh --help'.\n", e.what());
    return exit_usage;
  }
  if (cl.action == CommandLine::Action::help) {
    std::fputs(usage_text(), stdout);
    return exit_ok;
  }
  if (cl.action == CommandLine::Action::version) {
    std::printf("pingmesh %s\n", PINGMESH_VERSION);
    return exit_ok;
  }
  for (const auto& n : cl.notices) log::write(log::Level::notice, "%s", n.c_str());
  try {
    Daemon daemon(std::move(cl.config));
    return daemon.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pingmesh: %s\n", e.what());
    return exit_failure;
  }
}
