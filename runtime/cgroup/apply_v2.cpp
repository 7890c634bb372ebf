// linux.resources on the cgroup v2 unified hierarchy.
#include <sstream>

#include "runtime/cgroup/apply.h"
#include "runtime/cgroup/files.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;
namespace spec = oci::spec;

namespace {

const std::string kMem = "linux.resources.memory.";
const std::string kCpu = "linux.resources.cpu.";

Error unsupported(const std::string& field, const std::string& why) {
  return Error(ErrorKind::not_implemented, field + ": not supported on cgroup v2 (" + why + ")");
}

std::string bytes_or_max(int64_t v) {
  return v == -1 ? "max" : std::to_string(v);
}

Result<void> apply_memory(const fs::path& dir, const spec::MemoryResources& m) {
  if (m.kernel && *m.kernel != 0) return unsupported(kMem + "kernel", "no kernel memory limit");
  if (m.kernel_tcp && *m.kernel_tcp != 0) {
    return unsupported(kMem + "kernelTCP", "no kernel TCP memory limit");
  }
  if (m.swappiness) return unsupported(kMem + "swappiness", "no per-cgroup swappiness");
  if (m.disable_oom_killer && *m.disable_oom_killer) {
    return unsupported(kMem + "disableOOMKiller", "the OOM killer cannot be turned off");
  }
  if (m.use_hierarchy && !*m.use_hierarchy) {
    return unsupported(kMem + "useHierarchy", "accounting is always hierarchical");
  }
  for (auto [v, name] : {std::pair{m.limit, "limit"}, std::pair{m.reservation, "reservation"}}) {
    if (v && *v < -1) {
      return Error(ErrorKind::invalid_argument,
                   kMem + name + ": " + std::to_string(*v) + " is negative");
    }
  }
  GANTRY_ASSIGN_OR_RETURN(std::optional<std::string> swap_max, swap_for_v2(m.limit, m.swap));
  if (m.limit && *m.limit != 0) {
    GANTRY_TRY(write_limit(dir, "memory.max", bytes_or_max(*m.limit), kMem + "limit"));
  }
  if (swap_max) GANTRY_TRY(write_limit(dir, "memory.swap.max", *swap_max, kMem + "swap"));
  if (m.reservation && *m.reservation != 0) {
    GANTRY_TRY(write_limit(dir, "memory.low", bytes_or_max(*m.reservation), kMem + "reservation"));
  }
  return ok();
}

Result<void> apply_cpu(const fs::path& dir, const spec::CpuResources& c) {
  if (c.realtime_runtime && *c.realtime_runtime != 0) {
    return unsupported(kCpu + "realtimeRuntime", "no realtime group scheduling");
  }
  if (c.realtime_period && *c.realtime_period != 0) {
    return unsupported(kCpu + "realtimePeriod", "no realtime group scheduling");
  }
  if (c.shares && *c.shares) {
    GANTRY_TRY(write_limit(dir, "cpu.weight", std::to_string(shares_to_weight(*c.shares)),
                           kCpu + "shares"));
  }
  bool has_quota = c.quota && *c.quota != 0;
  bool has_period = c.period && *c.period != 0;
  if (has_quota || has_period) {
    // cpu.max is "<quota|max> <period>": keep the half the config does not set.
    std::string quota = "max", period = "100000";
    if (auto cur = read_trimmed(dir / "cpu.max")) {
      std::istringstream in(*cur);
      in >> quota >> period;
    }
    if (has_quota) quota = *c.quota < 0 ? "max" : std::to_string(*c.quota);
    if (has_period) period = std::to_string(*c.period);
    GANTRY_TRY(
        write_limit(dir, "cpu.max", quota + " " + period, kCpu + (has_quota ? "quota" : "period")));
  }
  if (c.idle) GANTRY_TRY(write_limit(dir, "cpu.idle", std::to_string(*c.idle), kCpu + "idle"));
  if (!c.cpus.empty()) GANTRY_TRY(write_limit(dir, "cpuset.cpus", c.cpus, kCpu + "cpus"));
  if (!c.mems.empty()) GANTRY_TRY(write_limit(dir, "cpuset.mems", c.mems, kCpu + "mems"));
  return ok();
}

}  // namespace

Result<void> apply_v2(const fs::path& dir, const spec::Resources& r) {
  // Device rules on v2 need an eBPF program attached to the cgroup, which Gantry does not build
  // yet; only "allow all" / "deny all" lists pass (and are not enforced, see docs/cgroups.md).
  if (!devices_trivial(r.devices)) {
    for (size_t i = 0; i < r.devices.size(); ++i) {
      if (!devices_trivial({r.devices[i]})) {
        return unsupported("linux.resources.devices[" + std::to_string(i) + "]",
                           "device rules need an eBPF device program, not implemented");
      }
    }
  }
  for (size_t i = 0; i < r.devices.size(); ++i) GANTRY_TRY(device_rule_v1(r.devices[i], i));
  if (r.memory) GANTRY_TRY(apply_memory(dir, *r.memory));
  if (r.cpu) GANTRY_TRY(apply_cpu(dir, *r.cpu));
  if (r.pids) {
    GANTRY_TRY(write_limit(dir, "pids.max",
                           r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max",
                           "linux.resources.pids.limit"));
  }
  GANTRY_TRY(apply_unified(dir, r.unified));
  return ok();
}

}  // namespace gantry::runtime::cgroup
