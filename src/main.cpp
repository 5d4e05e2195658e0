// pingmesh: read the command line and the configuration, build the daemon, run it;
// errors become the documented exit codes.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "log/log.hpp"
#include "log/output.hpp"
#include "mesh/peers_command.hpp"

#if defined(PINGMESH_OWN_TERMINATE_HANDLER)
namespace {

// What the verbose handler says, without the type's demangled name: the exception's what().
[[noreturn]] void say_why_and_abort() noexcept {
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, "pingmesh: terminate after an uncaught exception: %s\n", x.what());
    } catch (...) {
      std::fputs("pingmesh: terminate after an uncaught exception\n", stderr);
    }
  } else {
    std::fputs("pingmesh: terminate called without an exception\n", stderr);
  }
  std::abort();
}

}  // namespace

// libstdc++ is linked in (meson.build): its default handler lives in the archive member
// that defines this variable; defining it here keeps that member, the verbose handler and
// the demangler (__cxa_demangle, about 45 KB) out of the binary. std::set_terminate still
// works.
namespace __cxxabiv1 {
std::terminate_handler __terminate_handler = say_why_and_abort;
}
#endif

int main(int argc, char** argv) {
  using namespace pingmesh;
  open_missing_std_fds();
  // A peer that resets mid-write must give an error code, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  // The soft fd limit up to the hard one (systemd's advice for programs that never use
  // select()): the responder sizes its connection table below it.
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  // A subcommand, not a peer: "peers" alone is no URL anyone probes.
  if (argc > 1 && std::string_view(argv[1]) == "peers") return peers_command(argc - 1, argv + 1);
  const GetEnv getenv = [](const char* name) { return std::getenv(name); };

  CommandLine cl;
  LoadedConfig loaded;
  try {
    cl = parse_command_line(argc, argv);
    if (cl.action == CommandLine::Action::help) {
      std::fputs(usage_text(), stdout);
      return exit_ok;
    }
    if (cl.action == CommandLine::Action::version) {
      std::printf("pingmesh %s\n", PINGMESH_VERSION);
      return exit_ok;
    }
    loaded = load_config(cl, getenv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "pingmesh: %s\nTry 'pingmesh --help'.\n", e.what());
    return exit_usage;
  } catch (const ConfigError& e) {
    log::write(log::Level::error, "configuration error:\n%s", e.what());
    return exit_config;
  }
  for (const auto& n : loaded.notices) log::write(log::Level::warning, "%s", n.c_str());
  if (cl.action == CommandLine::Action::check_config) {
    std::fputs(describe(loaded.config).c_str(), stdout);
    return exit_ok;
  }
  try {
    Daemon daemon(std::move(loaded.config), [&cl, &getenv] { return load_config(cl, getenv); });
    return daemon.run();
  } catch (const ConfigError& e) {  // a certificate or CA file that cannot be parsed, say
    log::write(log::Level::error, "configuration error:\n%s", e.what());
    return exit_config;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pingmesh: %s\n", e.what());
    return exit_failure;
  }
}
