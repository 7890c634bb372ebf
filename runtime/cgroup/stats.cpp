// Stats for `events --stats`: memory, cpu and pids counters from the v1 or v2 files. A counter
// whose file is missing reads 0; a missing cgroup is not_found.
#include <unistd.h>

#include "runtime/cgroup/cgroup.h"
#include "runtime/cgroup/files.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;

namespace {

// v1 reports "unlimited" as the largest page-aligned counter, not as "max".
uint64_t limit_or_max(std::optional<uint64_t> v) {
  if (!v || *v >= (uint64_t{1} << 62)) return UINT64_MAX;
  return *v;
}

void v1_memory(const fs::path& d, MemoryStats& m) {
  m.usage_bytes = read_u64(d / "memory.usage_in_bytes").value_or(0);
  m.max_usage_bytes = read_u64(d / "memory.max_usage_in_bytes").value_or(0);
  m.limit_bytes = limit_or_max(read_u64(d / "memory.limit_in_bytes"));
  m.failcnt = read_u64(d / "memory.failcnt").value_or(0);
  m.oom_kill_count = read_keyed(d / "memory.oom_control")["oom_kill"];
}

void v1_cpu(const std::optional<fs::path>& acct, const std::optional<fs::path>& cpu, CpuStats& c) {
  if (acct) {
    c.usage_ns = read_u64(*acct / "cpuacct.usage").value_or(0);
    auto user = read_u64(*acct / "cpuacct.usage_user");
    auto sys = read_u64(*acct / "cpuacct.usage_sys");
    if (user && sys) {
      c.user_ns = *user;
      c.system_ns = *sys;
    } else {
      // cpuacct.stat counts USER_HZ ticks.
      auto st = read_keyed(*acct / "cpuacct.stat");
      uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
      c.user_ns = st["user"] * ns_per_tick;
      c.system_ns = st["system"] * ns_per_tick;
    }
  }
  if (cpu) {
    auto st = read_keyed(*cpu / "cpu.stat");
    c.throttled_periods = st["nr_throttled"];
    c.throttled_ns = st["throttled_time"];
  }
}

void v1_pids(const fs::path& d, PidsStats& p) {
  p.current = read_u64(d / "pids.current").value_or(0);
  auto max = read_u64(d / "pids.max");
  p.limit = !max || *max == UINT64_MAX ? 0 : *max;
}

void v2_all(const fs::path& d, Stats& s) {
  s.memory.usage_bytes = read_u64(d / "memory.current").value_or(0);
  s.memory.max_usage_bytes = read_u64(d / "memory.peak").value_or(0);
  s.memory.limit_bytes = read_u64(d / "memory.max").value_or(UINT64_MAX);
  auto events = read_keyed(d / "memory.events");
  s.memory.failcnt = events["max"];
  s.memory.oom_kill_count = events["oom_kill"];
  auto cpu = read_keyed(d / "cpu.stat");
  s.cpu.usage_ns = cpu["usage_usec"] * 1000;
  s.cpu.user_ns = cpu["user_usec"] * 1000;
  s.cpu.system_ns = cpu["system_usec"] * 1000;
  s.cpu.throttled_periods = cpu["nr_throttled"];
  s.cpu.throttled_ns = cpu["throttled_usec"] * 1000;
  v1_pids(d, s.pids);
}

}  // namespace

Result<Stats> Manager::stats() const {
  Stats s;
  if (layout_ == Layout::v2) {
    auto d = directory("unified");
    if (!d || ::access(d->c_str(), F_OK) != 0) {
      return Error(ErrorKind::not_found, "cgroup '" + cgroups_path_ + "' does not exist");
    }
    v2_all(*d, s);
    return s;
  }
  auto mem = directory("memory");
  auto probe = mem ? mem : directory("pids");
  if (probe && ::access(probe->c_str(), F_OK) != 0) {
    return Error(ErrorKind::not_found, "cgroup '" + cgroups_path_ + "' does not exist");
  }
  if (mem) v1_memory(*mem, s.memory);
  v1_cpu(directory("cpuacct"), directory("cpu"), s.cpu);
  if (auto p = directory("pids")) v1_pids(*p, s.pids);
  return s;
}

}  // namespace gantry::runtime::cgroup
