// The operations of gantry-oci (runc's commands), one source file each. Every operation that
// touches a container has the same four beats: load and reconcile its state under the
// container's lock (state.h), check the api::can_* predicate (an illegal one is
// api::illegal_transition), act, persist atomically.
//
// Operations return results; only the program (cli/oci) prints errors and chooses exit codes.
// Those that print (state, list, ps, events, features) return or stream the exact text.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/base/result.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/oci/spec/spec.h"
#include "runtime/oci/state.h"

namespace gantry::runtime::oci {

// create (and the create half of run).
struct CreateOptions {
  std::string id;
  std::filesystem::path bundle = ".";
  std::string console_socket;    // path of an AF_UNIX socket; needed when process.terminal
  std::string pid_file;          // written atomically with the init's pid
  int preserve_fds = 0;          // fds 3..3+N-1 (and $LISTEN_FDS more) reach the container
  bool no_pivot = false;         // not supported
  bool no_new_keyring = false;   // accepted: gantry-oci never makes a session keyring
  pid_t cgroup_warmup_pid = -1;  // cgroup_warmup.h: reaped once the init is in its cgroup
};
Result<void> create(StateStore& store, const CreateOptions& options);

// What create leaves to the start half of run: the container, still locked, as create recorded
// it (state created), and its parsed config. Starting it from here skips what a separate start
// must redo (lock, state.json, /proc, the freezer, config.json) while the init waits.
struct CreatedContainer {
  ContainerLock lock;
  Record record;
  spec::Spec spec;
};
Result<CreatedContainer> create_held(StateStore& store, const CreateOptions& options);

Result<void> start(StateStore& store, const std::string& id);
// start of a container create_held just made (the lock still held by created).
Result<void> start_created(StateStore& store, CreatedContainer& created);

// The spec's state document (ociVersion, id, status, pid, bundle, annotations) plus runc's
// rootfs, created and owner, which containerd and podman parse.
nlohmann::ordered_json state_document(const Container& container);
// What `state` prints: state_document indented as runc prints it.
Result<std::string> state(StateStore& store, const std::string& id);

// "KILL", "SIGKILL", "kill", "9" -> 9. invalid_argument for anything else.
Result<int> parse_signal(const std::string& text);
struct KillOptions {
  std::string id;
  std::string signal = "SIGTERM";
  bool all = false;
};
Result<void> kill(StateStore& store, const KillOptions& options);

// delete: a created or stopped container; with force any (killing every process first). An
// unknown id is not_found, except with force (success, as runc).
Result<void> delete_container(StateStore& store, const std::string& id, bool force);
// The same, with the container's config already at hand (run's): its poststop hooks are taken
// from known_spec instead of the stored config.json; nullptr reads that.
Result<void> delete_container(StateStore& store, const std::string& id, bool force,
                              const spec::Spec* known_spec);

struct RunOptions {
  CreateOptions create;
  bool detach = false;
  bool keep = false;
  bool no_subreaper = false;
};
// Returns the exit status to exit with: 0 when detached, else the init's status (128+N for a
// death by signal N).
Result<int> run(StateStore& store, const RunOptions& options);

struct ExecOptions {
  std::string id;
  std::vector<std::string> args;
  std::string process_file;  // --process: the spec's process object; else built from below
  std::string cwd;
  std::vector<std::string> env;
  bool tty = false;
  std::string user;  // "uid[:gid]"
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  std::string apparmor;
  std::string process_label;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
  std::vector<std::string> cgroup;  // not supported (error when given)
  bool ignore_paused = false;
  pid_t cgroup_warmup_pid = -1;  // cgroup_warmup.h: reaped once the process is in the cgroup
};
// The process exec runs (the container's process with the options applied, or --process).
Result<spec::Process> exec_process(const spec::Spec& container_spec, const ExecOptions& options);
Result<int> exec(StateStore& store, const ExecOptions& options);

Result<void> pause(StateStore& store, const std::string& id);
Result<void> resume(StateStore& store, const std::string& id);

struct PsOptions {
  std::string id;
  std::string format = "table";      // table or json
  std::vector<std::string> ps_args;  // given to ps(1) for the table; default -ef
};
Result<std::string> ps(StateStore& store, const PsOptions& options);

struct EventsOptions {
  std::string id;
  bool stats = false;      // one stats event, then exit
  int interval_ms = 5000;  // stream: one stats event per interval until the container stops
};
// runc's stats event: {"type":"stats","id":ID,"data":{cpu, memory, pids, ...}}.
nlohmann::ordered_json stats_event(const std::string& id, const cgroup::Stats& stats);
Result<void> events(StateStore& store, const EventsOptions& options, std::ostream& out,
                    const std::atomic<bool>* stop = nullptr);

struct UpdateOptions {
  std::string id;
  std::string resources_file;  // --resources FILE, or "-" for stdin
  // runc's flags, as given on the command line (empty: not given).
  std::map<std::string, std::string> flags;
};
// The resources document an update applies (the file's, or built from the flags).
Result<nlohmann::json> update_document(const UpdateOptions& options);
Result<void> update(StateStore& store, const UpdateOptions& options);

struct ListOptions {
  std::string format = "table";
  bool quiet = false;
};
Result<std::string> list(StateStore& store, const ListOptions& options);

// `features`: what this runtime supports, as the runtime-spec's features document.
std::string features();

struct SpecOptions {
  std::filesystem::path bundle = ".";
  bool rootless = false;
};
Result<void> write_spec(const SpecOptions& options);

// Byte sizes as runc's flags take them: "1048576", "512k", "64m", "1g", "-1".
Result<int64_t> parse_size_bytes(const std::string& text);

}  // namespace gantry::runtime::oci
