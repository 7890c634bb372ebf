// linux.resources on cgroup v1 (and the v1 half of hybrid).
#include <unistd.h>

#include <cerrno>

#include "runtime/cgroup/apply.h"
#include "runtime/cgroup/files.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;
namespace spec = oci::spec;

namespace {

const std::string kMem = "linux.resources.memory.";
const std::string kCpu = "linux.resources.cpu.";

Result<fs::path> need(const Manager& m, const std::string& controller, const std::string& field) {
  auto dir = m.directory(controller);
  if (!dir) {
    return Error(ErrorKind::not_implemented,
                 field + ": the " + controller + " controller is not mounted on this machine");
  }
  return *dir;
}

// -1 is unlimited, 0 is unset (as in runc), anything else below 0 is nonsense.
Result<bool> check_bytes(std::optional<int64_t> v, const std::string& field) {
  if (!v || *v == 0) return false;
  if (*v < -1) {
    return Error(ErrorKind::invalid_argument, field + ": " + std::to_string(*v) + " is negative");
  }
  return true;
}

Result<void> apply_memory(const fs::path& dir, const spec::MemoryResources& m) {
  GANTRY_ASSIGN_OR_RETURN(bool has_limit, check_bytes(m.limit, kMem + "limit"));
  GANTRY_ASSIGN_OR_RETURN(bool has_swap, check_bytes(m.swap, kMem + "swap"));
  std::optional<int64_t> limit, swap;
  if (has_limit) limit = *m.limit;
  if (has_swap) swap = *m.swap;
  bool memsw = ::access((dir / "memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
  // An unlimited memory limit under a limited memsw would be refused: lift memsw with it.
  if (limit && *limit == -1 && !swap && memsw) swap = -1;
  if (swap && !memsw) {
    return Error(ErrorKind::not_implemented,
                 kMem + "swap: swap accounting is off on this kernel (no " +
                     (dir / "memory.memsw.limit_in_bytes").string() + ")");
  }
  auto write_mem = [&]() -> Result<void> {
    if (!limit) return ok();
    return write_limit(dir, "memory.limit_in_bytes", std::to_string(*limit), kMem + "limit");
  };
  auto write_swap = [&]() -> Result<void> {
    return write_limit(dir, "memory.memsw.limit_in_bytes", std::to_string(*swap), kMem + "swap");
  };
  // The kernel keeps memsw >= limit at every step: raise memsw before the limit, lower it after.
  if (swap) {
    uint64_t current_memsw = read_u64(dir / "memory.memsw.limit_in_bytes").value_or(UINT64_MAX);
    bool swap_first = *swap == -1 || static_cast<uint64_t>(*swap) > current_memsw;
    if (swap_first) {
      GANTRY_TRY(write_swap());
      GANTRY_TRY(write_mem());
    } else {
      GANTRY_TRY(write_mem());
      GANTRY_TRY(write_swap());
    }
  } else {
    GANTRY_TRY(write_mem());
  }
  GANTRY_ASSIGN_OR_RETURN(bool has_res, check_bytes(m.reservation, kMem + "reservation"));
  if (has_res) {
    GANTRY_TRY(write_limit(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation),
                           kMem + "reservation"));
  }
  GANTRY_ASSIGN_OR_RETURN(bool has_kernel, check_bytes(m.kernel, kMem + "kernel"));
  if (has_kernel) {
    GANTRY_TRY(
        write_limit(dir, "memory.kmem.limit_in_bytes", std::to_string(*m.kernel), kMem + "kernel"));
  }
  GANTRY_ASSIGN_OR_RETURN(bool has_tcp, check_bytes(m.kernel_tcp, kMem + "kernelTCP"));
  if (has_tcp) {
    GANTRY_TRY(write_limit(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp),
                           kMem + "kernelTCP"));
  }
  if (m.swappiness) {
    if (*m.swappiness > 100) {
      return Error(ErrorKind::invalid_argument,
                   kMem + "swappiness: " + std::to_string(*m.swappiness) + " is above 100");
    }
    GANTRY_TRY(
        write_limit(dir, "memory.swappiness", std::to_string(*m.swappiness), kMem + "swappiness"));
  }
  if (m.disable_oom_killer) {
    GANTRY_TRY(write_limit(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
                           kMem + "disableOOMKiller"));
  }
  if (m.use_hierarchy) {
    GANTRY_TRY(write_limit(dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0",
                           kMem + "useHierarchy"));
  }
  return ok();
}

// Two files whose values the kernel checks against each other (quota within period, rt runtime
// within rt period): write the first, and when that is refused write the second first.
Result<void> write_pair(const fs::path& dir, const std::string& first_file,
                        const std::optional<std::string>& first, const std::string& first_field,
                        const std::string& second_file, const std::optional<std::string>& second,
                        const std::string& second_field) {
  if (first) {
    auto r = write_limit(dir, first_file, *first, first_field);
    if (!r) {
      if (!second || r.error().errno_value() != EINVAL) return r;
      GANTRY_TRY(write_limit(dir, second_file, *second, second_field));
      return write_limit(dir, first_file, *first, first_field);
    }
  }
  if (second) GANTRY_TRY(write_limit(dir, second_file, *second, second_field));
  return ok();
}

Result<void> apply_cpu(const Manager& mgr, const spec::CpuResources& c) {
  bool any_cpu = (c.shares && *c.shares) || (c.quota && *c.quota) || (c.period && *c.period) ||
                 (c.realtime_runtime && *c.realtime_runtime) ||
                 (c.realtime_period && *c.realtime_period) || c.idle;
  if (any_cpu) {
    GANTRY_ASSIGN_OR_RETURN(fs::path dir, need(mgr, "cpu", kCpu + "*"));
    if (c.shares && *c.shares) {
      GANTRY_TRY(write_limit(dir, "cpu.shares", std::to_string(*c.shares), kCpu + "shares"));
    }
    std::optional<std::string> period, quota, rt_period, rt_runtime;
    if (c.period && *c.period) period = std::to_string(*c.period);
    if (c.quota && *c.quota) quota = std::to_string(*c.quota < 0 ? -1 : *c.quota);
    GANTRY_TRY(write_pair(dir, "cpu.cfs_period_us", period, kCpu + "period", "cpu.cfs_quota_us",
                          quota, kCpu + "quota"));
    if (c.realtime_period && *c.realtime_period) rt_period = std::to_string(*c.realtime_period);
    if (c.realtime_runtime && *c.realtime_runtime) {
      rt_runtime = std::to_string(*c.realtime_runtime);
    }
    GANTRY_TRY(write_pair(dir, "cpu.rt_period_us", rt_period, kCpu + "realtimePeriod",
                          "cpu.rt_runtime_us", rt_runtime, kCpu + "realtimeRuntime"));
    if (c.idle) {
      GANTRY_TRY(write_limit(dir, "cpu.idle", std::to_string(*c.idle), kCpu + "idle"));
    }
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    GANTRY_ASSIGN_OR_RETURN(fs::path dir, need(mgr, "cpuset", kCpu + "cpus/mems"));
    if (!c.cpus.empty()) GANTRY_TRY(write_limit(dir, "cpuset.cpus", c.cpus, kCpu + "cpus"));
    if (!c.mems.empty()) GANTRY_TRY(write_limit(dir, "cpuset.mems", c.mems, kCpu + "mems"));
  }
  return ok();
}

Result<void> apply_devices(const Manager& mgr, const std::vector<spec::DeviceCgroupRule>& rules) {
  if (rules.empty()) return ok();
  GANTRY_ASSIGN_OR_RETURN(fs::path dir, need(mgr, "devices", "linux.resources.devices"));
  for (size_t i = 0; i < rules.size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN(std::string line, device_rule_v1(rules[i], i));
    GANTRY_TRY(write_limit(dir, rules[i].allow ? "devices.allow" : "devices.deny", line,
                           "linux.resources.devices[" + std::to_string(i) + "]"));
  }
  return ok();
}

}  // namespace

Result<void> apply_v1(const Manager& m, const spec::Resources& r) {
  // Validate what needs no kernel first, so a bad config writes nothing.
  for (size_t i = 0; i < r.devices.size(); ++i) GANTRY_TRY(device_rule_v1(r.devices[i], i));
  if (!r.unified.empty() && !m.directory("unified")) {
    return Error(ErrorKind::not_implemented,
                 "linux.resources.unified: needs a cgroup v2 hierarchy (this machine is v1)");
  }
  if (r.memory) {
    GANTRY_ASSIGN_OR_RETURN(fs::path dir, need(m, "memory", "linux.resources.memory"));
    GANTRY_TRY(apply_memory(dir, *r.memory));
  }
  if (r.cpu) GANTRY_TRY(apply_cpu(m, *r.cpu));
  if (r.pids) {
    GANTRY_ASSIGN_OR_RETURN(fs::path dir, need(m, "pids", "linux.resources.pids"));
    GANTRY_TRY(write_limit(dir, "pids.max",
                           r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max",
                           "linux.resources.pids.limit"));
  }
  GANTRY_TRY(apply_devices(m, r.devices));
  // Hybrid: the cgroup2 tree carries only what it lists (here hugetlb); the map goes there.
  if (!r.unified.empty()) GANTRY_TRY(apply_unified(*m.directory("unified"), r.unified));
  return ok();
}

Result<void> Manager::allow_default_devices() {
  if (layout_ == Layout::v2) return ok();
  auto dir = directory("devices");
  if (!dir) return ok();
  for (const char* rule : {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                           "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"}) {
    GANTRY_TRY_CTX(write_control(*dir / "devices.allow", rule), "default devices");
  }
  return ok();
}

}  // namespace gantry::runtime::cgroup
