// Drives any runc-compatible OCI runtime (runc, crun, gantry-oci) from a test, the way conmon
// or containerd-shim do: every command runs as `<runtime> --root <private root> <cmd> ...`
// with a timeout; the test process is the child subreaper (PR_SET_CHILD_SUBREAPER), so a
// detached container init becomes our child when the runtime exits, and its exit status is
// collected here. A container's stdout goes to a file of the driver's, one per container (and
// one per exec), so outputs can be compared afterwards.
//
// Vocabulary: an id is the container name given to `create`; the init is the container's first
// process (state's pid); an outcome is what one runtime command did: its exit status and what
// it printed. The driver deletes (--force) every container it created, kills any init it still
// holds (by pidfd, so never a recycled pid) and removes its root when it goes away, also when a
// test fails half way.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "runtime/sys/fd.h"
#include "runtime/sys/process.h"

namespace gantry::testing::oci {

// What one runtime command did.
struct Outcome {
  runtime::sys::ExitStatus status;
  std::string stdout_text;
  std::string stderr_text;
  bool ok() const { return status.success(); }
  // "exit code 1: <stderr, trimmed>"
  std::string describe() const;
};

// The parts of `state` JSON the tests compare.
struct StateInfo {
  std::string id;
  std::string status;  // created, running, paused, stopped (creating only while building)
  pid_t pid = 0;
  std::string bundle;
};

// The runtime under test: $GANTRY_OCI_RUNTIME when set, else gantry-oci found like our other
// programs ($GANTRY_BIN/gantry-oci, next to the test, PATH).
Result<std::filesystem::path> runtime_under_test();
// A peer runtime on PATH by name ("runc", "crun").
Result<std::filesystem::path> peer_runtime(const std::string& name);

class RuntimeDriver {
 public:
  // `name` labels messages ("runc", "gantry-oci"). The private root is a new temp directory.
  RuntimeDriver(std::filesystem::path runtime, std::string name);
  ~RuntimeDriver();
  RuntimeDriver(const RuntimeDriver&) = delete;
  RuntimeDriver& operator=(const RuntimeDriver&) = delete;

  const std::string& name() const { return name_; }
  const std::filesystem::path& runtime() const { return runtime_; }
  const std::filesystem::path& root() const { return root_; }

  // Any command: `<runtime> --root <root> args...`. stdin is /dev/null; stdout goes to
  // stdout_fd when given (>= 0), else is captured; stderr is captured. Timeouts (the runtime
  // killed) come back as unavailable.
  Result<Outcome> command(const std::vector<std::string>& args, int stdout_fd = -1,
                          int timeout_ms = kDefaultTimeoutMs);

  // create --bundle B id, the init's stdout into a new file that becomes output_path(id) when
  // the create succeeds. On success the init's pid is held (pidfd) for reaping.
  Result<Outcome> create(const std::string& id, const std::filesystem::path& bundle);
  // run --detach: create + start in one command.
  Result<Outcome> run_detached(const std::string& id, const std::filesystem::path& bundle);
  Result<Outcome> start(const std::string& id);
  Result<Outcome> kill(const std::string& id, const std::string& signal, bool all = false);
  // delete [--force] id; when it succeeds the init is reaped (waiting up to 5 s) and the id
  // forgotten (its output too).
  Result<Outcome> remove(const std::string& id, bool force);
  Result<Outcome> pause(const std::string& id);
  Result<Outcome> resume(const std::string& id);
  // exec id args... (not detached); its stdout lands in the returned Outcome's stdout_text, the
  // exit status is the runtime's (which is the process's on success).
  Result<Outcome> exec(const std::string& id, const std::vector<std::string>& args,
                       const std::vector<std::string>& flags = {});
  // state id: the outcome, and the parsed JSON when it succeeded.
  Result<Outcome> state_raw(const std::string& id);
  Result<StateInfo> state(const std::string& id);

  // The init's exit status once it has exited (reaping it); nullopt while it runs, or when the
  // driver holds no init for id.
  std::optional<runtime::sys::ExitStatus> init_exit(const std::string& id);
  // Waits up to timeout_ms for the init to exit and reaps it.
  Result<runtime::sys::ExitStatus> wait_init(const std::string& id, int timeout_ms);
  std::optional<pid_t> init_pid(const std::string& id) const;

  // Where a container's stdout is written, and what is in it now.
  std::filesystem::path output_path(const std::string& id) const;
  std::string output(const std::string& id) const;
  // Waits until output(id) starts with `prefix` (true) or timeout_ms passes (false).
  bool wait_output(const std::string& id, const std::string& prefix, int timeout_ms) const;

  // delete --force every container created here and reap or kill what remains; the driver can
  // be used again afterwards. Called by the destructor.
  void cleanup();

  static constexpr int kDefaultTimeoutMs = 30000;

 private:
  struct Init {
    pid_t pid = 0;
    runtime::sys::UniqueFd pidfd;
    std::optional<runtime::sys::ExitStatus> exit;
  };
  Result<Outcome> create_like(const std::string& verb, const std::string& id,
                              const std::filesystem::path& bundle,
                              const std::vector<std::string>& extra);
  void adopt_init(const std::string& id);

  std::filesystem::path runtime_;
  std::string name_;
  std::filesystem::path root_;     // --root
  std::filesystem::path scratch_;  // root_ and outputs live below
  std::vector<std::string> ids_;   // every id we tried to create, in order
  std::map<std::string, Init> inits_;
  std::map<std::string, std::filesystem::path> outputs_;  // the current container's stdout
  int file_count_ = 0;
};

// Makes the calling process the child subreaper (idempotent).
Result<void> become_subreaper();
// Reaps every zombie child that no one waits for (orphans handed to us: detached execs, the
// runtime's intermediate processes); never blocks. The driver calls it after every command and
// while waiting for an init, as a shim does on SIGCHLD: a pid namespace's init is not reported
// exited while a zombie of its namespace is left unreaped.
void reap_orphans();

}  // namespace gantry::testing::oci
