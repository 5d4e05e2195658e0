// TLS test fixtures: certificates made by tests/certs/make-certs.sh at test time, and
// `openssl s_server`, a TLS server we did not write, on 127.0.0.1 port 0.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace pingmesh::testing {

// The certificates, made once per test program in a fresh temporary directory.
inline const std::string& cert_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/pingmesh-certs-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    std::string cmd = std::string(PINGMESH_CERTS_SCRIPT) + " " + tmpl + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-certs.sh failed");
    return std::string(tmpl);
  }();
  return dir;
}

inline std::string cert(const std::string& name) {
  return cert_dir() + "/" + name;
}

class OpensslServer {
 public:
  // extra: more s_server arguments, e.g. {"-www"}.
  OpensslServer(const std::string& cert_file, const std::string& key_file,
                std::vector<std::string> extra = {"-www"}) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> args = {"openssl", "s_server", "-accept", "127.0.0.1:0",
                                     "-cert",   cert_file,  "-key",    key_file};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("openssl", argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[256];
    while (fgets(line, sizeof line, f)) {  // "ACCEPT 127.0.0.1:PORT" once it listens
      std::string l(line);
      if (l.rfind("ACCEPT ", 0) == 0) {
        port_ = std::stoi(l.substr(l.rfind(':') + 1));
        break;
      }
    }
    out_ = f;
    if (port_ == 0) throw std::runtime_error("openssl s_server did not start");
  }
  ~OpensslServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    if (out_) fclose(out_);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  FILE* out_ = nullptr;
};

}  // namespace pingmesh::testing
