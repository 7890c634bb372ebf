// The state store of gantry-oci: one directory per container under the root (--root, default
// /run/gantry-oci), shared by every invocation of the program.
//
// Vocabulary:
//   root        the directory that holds one directory per container id.
//   record      what a container's state.json says: its id, its init as (pid, start time), the
//               bundle, rootfs, creation time, annotations, cgroups path, and whether `start`
//               ran. A record is a claim written by an earlier invocation, not a fact.
//   reconcile   turning a record into a state by looking at the system: the init gone, a
//               zombie, or a pid whose start time differs means stopped; a frozen cgroup means
//               paused; otherwise created or running as the record says.
//   lock        an fcntl (POSIX record) lock on <root>/<id>/lock. POSIX locks belong to the
//               process, so a container init forked while the lock is held never inherits it;
//               every operation holds the lock from load to persist, so concurrent invocations
//               on one id are serialized.
//
// Layout of <root>/<id>/: state.json (the record, replaced atomically; see replace_file.h),
// config.json (the bundle's config as it was at create, updated by `update`), lock, exec.fifo
// (until start).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/api/container_state.h"
#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci {

// The OCI runtime-spec version gantry-oci reports in `state` and `--version`.
inline constexpr std::string_view kOciVersion = "1.1.0";

// runc's rule: [A-Za-z0-9][A-Za-z0-9_+.-]*, at most 1024 bytes, not "." or "..".
// invalid_argument "invalid container ID format" otherwise.
Result<void> validate_container_id(std::string_view id);

struct Record {
  std::string id;
  pid_t init_pid = -1;
  uint64_t init_start_time = 0;  // field 22 of /proc/<pid>/stat
  std::string bundle;            // absolute
  std::string rootfs;            // absolute
  std::string created;           // RFC 3339 with nanoseconds, UTC
  std::map<std::string, std::string> annotations;
  std::string cgroups_path;  // as resolved by the cgroup Manager (absolute)
  bool started = false;      // `start` released the init
  std::string owner;         // runc's "owner" field (empty for root)
};

std::string to_json(const Record& record);
Result<Record> record_from_json(std::string_view text);

// What the system says about a process named by (pid, start time).
enum class ProcessLiveness { alive, zombie, gone };
ProcessLiveness process_liveness(pid_t pid, uint64_t start_time);
// Field 22 of /proc/<pid>/stat; not_found when the process is gone.
Result<uint64_t> read_process_start_time(pid_t pid);

// A record with the state reconciled against /proc and the freezer.
struct Container {
  Record record;
  api::ContainerState state = api::ContainerState::stopped;
  // The pid to report: the init's when it lives, 0 when stopped (as runc).
  pid_t live_pid() const { return state == api::ContainerState::stopped ? 0 : record.init_pid; }
};

// Whether a container's cgroup is frozen (or freezing). Injected, so the store does not depend
// on the cgroup library: the program passes cgroup_frozen (stored_config.h); tests a fake.
using FrozenProbe = std::function<bool(const Record&)>;

// The state a record means: the init gone, a zombie, or another process under its pid is
// stopped; a frozen cgroup paused; otherwise created or running as the record says.
api::ContainerState reconcile(const Record& record, ProcessLiveness init, bool frozen);

// An exclusive lock on one container, released when the object goes away.
class ContainerLock {
 public:
  ContainerLock() = default;
  explicit ContainerLock(sys::UniqueFd fd) : fd_(std::move(fd)) {}
  bool held() const { return fd_.valid(); }

 private:
  sys::UniqueFd fd_;
};

class StateStore {
 public:
  explicit StateStore(std::filesystem::path root, FrozenProbe frozen = {})
      : root_(std::move(root)), frozen_(std::move(frozen)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dir(std::string_view id) const { return root_ / std::string(id); }

  // Makes <root>/<id> (and the root, mode 0711) and locks it. already_exists when the id is
  // taken ("container with id exists: ID").
  Result<ContainerLock> create_locked(std::string_view id);

  // Locks an existing container (waits for a concurrent invocation to finish). not_found
  // ("container does not exist") when there is none, also when it was deleted while waiting.
  Result<ContainerLock> lock(std::string_view id);

  // Loads state.json and reconciles it. not_found when absent (a create that did not finish).
  Result<Container> load(std::string_view id) const;
  // lock + load.
  Result<std::pair<ContainerLock, Container>> lock_and_load(std::string_view id);

  // Replaces state.json atomically.
  Result<void> save(const Record& record);

  // The stored copy of the container's config.json.
  Result<std::string> read_config(std::string_view id) const;
  Result<void> save_config(std::string_view id, std::string_view config_json);

  // Removes <root>/<id> and everything in it (the caller holds the lock).
  Result<void> remove(std::string_view id);

  // Ids of every container directory under the root, sorted; an absent root is empty.
  Result<std::vector<std::string>> list_ids() const;

 private:
  std::filesystem::path root_;
  FrozenProbe frozen_;
};

// Now as RFC 3339 with nanoseconds in UTC ("2026-11-28T10:43:55.123456789Z").
std::string rfc3339_nano_now();

}  // namespace gantry::runtime::oci
