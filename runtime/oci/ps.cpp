// `ps [--format table|json] ID [PS-ARGS...]`: the processes in the container's cgroup. json is
// the array of host pids; table is ps(1)'s output (default `ps -ef`) kept to the header and the
// lines of those pids, as runc does.
#include <algorithm>
#include <sstream>

#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"
#include "runtime/sys/process.h"

namespace gantry::runtime::oci {

namespace {

// The column of ps's header that holds the pid.
Result<size_t> pid_column(const std::string& header) {
  std::istringstream words(header);
  std::string w;
  for (size_t i = 0; words >> w; ++i) {
    if (w == "PID") return i;
  }
  return Error(ErrorKind::invalid_argument, "ps: the output has no PID column");
}

}  // namespace

Result<std::string> ps(StateStore& store, const PsOptions& o) {
  if (o.format != "table" && o.format != "json") {
    return Error(ErrorKind::invalid_argument, "invalid format option: " + o.format);
  }
  GANTRY_ASSIGN_OR_RETURN(Container c, store.load(o.id));
  std::vector<pid_t> pids;
  if (c.state != api::ContainerState::stopped) {
    GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
    GANTRY_ASSIGN_OR_RETURN(pids, m.pids());
  }
  if (o.format == "json") return nlohmann::json(pids).dump() + "\n";

  std::vector<std::string> argv{"ps"};
  if (o.ps_args.empty()) {
    argv.push_back("-ef");
  } else {
    argv.insert(argv.end(), o.ps_args.begin(), o.ps_args.end());
  }
  GANTRY_ASSIGN_OR_RETURN(sys::RunResult out, sys::run(argv, 10'000));
  if (!out.status.success()) {
    return Error(ErrorKind::invalid_argument,
                 "ps: " + out.status.describe() + ": " + out.stderr_text);
  }
  std::istringstream lines(out.stdout_text);
  std::string header;
  std::getline(lines, header);
  GANTRY_ASSIGN_OR_RETURN(size_t column, pid_column(header));
  std::string result = header + "\n";
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string w;
    for (size_t i = 0; i <= column && words >> w; ++i) {
    }
    pid_t pid = static_cast<pid_t>(std::strtol(w.c_str(), nullptr, 10));
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) result += line + "\n";
  }
  return result;
}

}  // namespace gantry::runtime::oci
