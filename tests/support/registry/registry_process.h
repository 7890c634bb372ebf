// A registry server started by a test: gantry-registry or the distribution registry (Debian's
// `docker-registry`), on 127.0.0.1 with a free port and its storage in a scratch directory,
// stopped (by its pid) when the object goes away. Fault tests kill it and start it again on
// the same root and port.
//
// gantry-registry is started as `gantry-registry serve --addr 127.0.0.1:0 --root DIR ...` and
// says where it listens in its first line on stdout ("listening on http[s]://127.0.0.1:PORT").
// The distribution registry gets a config file (delete enabled, upload purging off, logs at
// error level, its stderr in ROOT/distribution.log) and a port picked here; it is ready when
// /v2/ answers.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "runtime/sys/process.h"

namespace gantry::testing {

enum class RegistryKind { gantry, distribution };

struct RegistryProcessOptions {
  RegistryKind kind = RegistryKind::gantry;
  // Storage; empty: a directory made (and removed) by the RegistryProcess.
  std::filesystem::path root;
  // gantry-registry: more flags (--htpasswd FILE, --no-tag-delete, ...).
  std::vector<std::string> extra_args;
  // distribution: YAML appended to its config, right after the `http:` section's `addr:` line:
  // lines indented by two spaces extend `http:` (e.g. `  tls:`), unindented ones add top-level
  // sections (e.g. `auth:`).
  std::string distribution_config_extra;
  int ready_timeout_ms = 15000;
};

class RegistryProcess {
 public:
  // Starts the server and waits until it answers. not_found when the program is missing (the
  // caller decides whether to skip: see require.h).
  static Result<std::unique_ptr<RegistryProcess>> start(RegistryProcessOptions options);
  ~RegistryProcess();
  RegistryProcess(const RegistryProcess&) = delete;
  RegistryProcess& operator=(const RegistryProcess&) = delete;

  // "127.0.0.1:PORT" and "http://127.0.0.1:PORT".
  const std::string& host_port() const { return host_port_; }
  std::string base_url() const { return "http://" + host_port_; }
  const std::filesystem::path& root() const { return root_; }
  pid_t pid() const { return child_.pid(); }
  bool running() const { return running_; }

  // Sends sig and reaps the server (SIGKILL: a crash).
  Result<void> stop(int sig);
  // Starts it again on the same root and port (after stop).
  Result<void> restart();

  // Where the program that runs is (for messages).
  static Result<std::filesystem::path> program(RegistryKind kind);

 private:
  explicit RegistryProcess(RegistryProcessOptions options) : options_(std::move(options)) {}
  Result<void> launch();
  Result<void> wait_ready();

  RegistryProcessOptions options_;
  std::filesystem::path root_;
  bool own_root_ = false;
  std::string host_port_;
  runtime::sys::Child child_;
  runtime::sys::UniqueFd log_fd_;  // distribution's stderr
  bool running_ = false;
};

}  // namespace gantry::testing
