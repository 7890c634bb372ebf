// `events [--stats] [--interval D] ID`: the container's cgroup statistics as runc's stats event
// ({"type":"stats","id":...,"data":{"cpu":...,"memory":...,"pids":...}}), once with --stats,
// else one line per interval until the container stops.
#include <thread>

#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"

namespace gantry::runtime::oci {

nlohmann::ordered_json stats_event(const std::string& id, const cgroup::Stats& s) {
  nlohmann::ordered_json data;
  data["cpu"]["usage"] = {
      {"total", s.cpu.usage_ns}, {"kernel", s.cpu.system_ns}, {"user", s.cpu.user_ns}};
  data["cpu"]["throttling"] = {{"periods", 0},
                               {"throttledPeriods", s.cpu.throttled_periods},
                               {"throttledTime", s.cpu.throttled_ns}};
  data["memory"]["usage"] = {{"limit", s.memory.limit_bytes},
                             {"usage", s.memory.usage_bytes},
                             {"max", s.memory.max_usage_bytes},
                             {"failcnt", s.memory.failcnt}};
  data["memory"]["raw"] = {{"oom_kill", s.memory.oom_kill_count}};
  data["pids"] = {{"current", s.pids.current}, {"limit", s.pids.limit}};
  data["blkio"] = nlohmann::ordered_json::object();
  data["hugetlb"] = nlohmann::ordered_json::object();
  nlohmann::ordered_json event;
  event["type"] = "stats";
  event["id"] = id;
  event["data"] = std::move(data);
  return event;
}

Result<void> events(StateStore& store, const EventsOptions& o, std::ostream& out,
                    const std::atomic<bool>* stop) {
  if (o.interval_ms <= 0) {
    return Error(ErrorKind::invalid_argument, "duration interval must be greater than 0");
  }
  for (bool first = true;; first = false) {
    GANTRY_ASSIGN_OR_RETURN(Container c, store.load(o.id));
    if (c.state == api::ContainerState::stopped) {
      if (first) return Error(ErrorKind::failed_precondition, "container " + o.id + " is stopped");
      return ok();
    }
    GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
    GANTRY_ASSIGN_OR_RETURN_CTX(cgroup::Stats s, m.stats(), "stats of " + o.id);
    out << stats_event(o.id, s).dump() << "\n" << std::flush;
    if (o.stats) return ok();
    for (int waited = 0; waited < o.interval_ms; waited += 50) {
      if (stop && stop->load()) return ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50, o.interval_ms - waited)));
    }
  }
}

}  // namespace gantry::runtime::oci
