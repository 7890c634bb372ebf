// Control groups for containers: where a container's cgroup lives, how its limits are written,
// how it is frozen, measured and removed. Works on the three layouts Linux machines have:
//
//   v1      one hierarchy per controller under <root>/<controller> (memory, cpu, cpuset, pids,
//           freezer, ...).
//   v2      one unified hierarchy at <root>, controllers enabled through cgroup.subtree_control.
//   hybrid  v1 controllers plus a cgroup2 mount at <root>/unified that carries no (or few)
//           controllers: limits go to v1; the process is placed in the unified hierarchy too,
//           so tools that look there find it. This machine is hybrid (and its cgroup2 lists
//           hugetlb, which makes crun 1.8 refuse to run).
//
// Vocabulary: a container's cgroup is named by the spec's linux.cgroupsPath. An absolute path
// ("/gantry/c1") is taken relative to each hierarchy's root; a relative one ("gantry/c1") relative
// to the cgroup of the calling process; an empty one defaults to "/gantry/<container id>".
// A Manager is plain data (the layout and the resolved directories), so it can be rebuilt from
// the cgroups path stored in a container's state by any later gantry-oci invocation.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::cgroup {

enum class Layout { v1, v2, hybrid };

// Where the cgroup file systems and the caller's own cgroups are described. Tests point these at
// files in a temp dir; the defaults are the real machine.
struct HostPaths {
  std::filesystem::path root = "/sys/fs/cgroup";  // cgroup mounts at or below it count
  std::filesystem::path mountinfo = "/proc/self/mountinfo";
  std::filesystem::path self_cgroup = "/proc/self/cgroup";
};

// Reads /proc/self/mountinfo (or the given root) to tell which layout this machine has.
Result<Layout> detect_layout(const std::filesystem::path& root = "/sys/fs/cgroup");
Result<Layout> detect_layout(const HostPaths& host);

enum class FreezerState { thawed, freezing, frozen };

struct MemoryStats {
  uint64_t usage_bytes = 0;
  uint64_t max_usage_bytes = 0;  // v1 only (0 on v2)
  uint64_t limit_bytes = 0;      // UINT64_MAX when unlimited
  uint64_t failcnt = 0;          // v1 failcnt; v2 memory.events "max"
  uint64_t oom_kill_count = 0;
};

struct CpuStats {
  uint64_t usage_ns = 0;
  uint64_t user_ns = 0;
  uint64_t system_ns = 0;
  uint64_t throttled_periods = 0;
  uint64_t throttled_ns = 0;
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = 0;  // 0 when unlimited
};

// What `gantry-oci events --stats` reports (runc's field names are chosen by the caller).
struct Stats {
  MemoryStats memory;
  CpuStats cpu;
  PidsStats pids;
};

class Manager {
 public:
  // Resolves the cgroup for cgroups_path (see the vocabulary) on this machine's layout, without
  // touching the filesystem. container_id names the default path.
  static Result<Manager> open(const std::string& cgroups_path, const std::string& container_id,
                              const std::filesystem::path& root = "/sys/fs/cgroup");
  static Result<Manager> open(const std::string& cgroups_path, const std::string& container_id,
                              const HostPaths& host);

  // Creates the directories in every hierarchy this machine has (idempotent; on v2 enables the
  // controllers the resources need in the parents' cgroup.subtree_control).
  Result<void> create();

  // Writes the limits. A limit the layout cannot express is not_implemented and names the
  // field ("linux.resources.memory.kernel: not supported on cgroup v2"); a value the kernel
  // refuses is invalid_argument with the file and errno. Used by create and by `update`.
  Result<void> apply(const oci::spec::Resources& resources);

  // The devices every container gets besides its config's rules, as runc does: /dev/null,
  // zero, full, random, urandom, tty, console, ptmx and the pty slaves (136:*), rwm. On v1
  // and hybrid writes them to devices.allow (call after apply); on v2 nothing (no eBPF yet).
  Result<void> allow_default_devices();

  // Moves a process (all its threads) into the cgroup in every hierarchy.
  Result<void> add_process(pid_t pid);

  Result<void> freeze();  // returns once the freezer reports frozen
  Result<void> thaw();
  Result<FreezerState> freezer_state() const;

  // The pids in the cgroup (cgroup.procs), sorted.
  Result<std::vector<pid_t>> pids() const;

  // Sends signal to every process in the cgroup (for `kill --all` and `delete --force`).
  // A frozen cgroup is thawed for SIGKILL so the processes can die.
  Result<void> signal_all(int signal);

  Result<Stats> stats() const;

  // Removes the cgroup directories (waits briefly for the processes to be gone; conflict
  // (EBUSY) when processes remain). Missing directories are not an error.
  Result<void> destroy();

  Layout layout() const { return layout_; }
  // The path as resolved: absolute when the input was absolute or empty, or when the caller is
  // in the same cgroup in every hierarchy (then open() of it from anywhere finds the same
  // directories); otherwise the relative path as given (re-open it from the same cgroups).
  const std::string& cgroups_path() const { return cgroups_path_; }
  // (controller or "unified", directory) for every hierarchy the container's cgroup is in.
  const std::vector<std::pair<std::string, std::filesystem::path>>& directories() const {
    return directories_;
  }
  // The directory of one controller ("memory", "pids", "freezer", "unified"); nullopt if absent.
  std::optional<std::filesystem::path> directory(const std::string& controller) const;

 private:
  Layout layout_ = Layout::v1;
  std::string cgroups_path_;
  std::vector<std::pair<std::string, std::filesystem::path>> directories_;
  // Parallel to directories_: the mount point of that hierarchy (create() walks down from it).
  std::vector<std::filesystem::path> mountpoints_;
};

}  // namespace gantry::runtime::cgroup
