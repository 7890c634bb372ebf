// The freezer: v1 freezer.state (THAWED / FREEZING / FROZEN), v2 cgroup.freeze with the result
// in cgroup.events ("frozen 1").
#include <chrono>
#include <thread>

#include "runtime/cgroup/cgroup.h"
#include "runtime/cgroup/files.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;

namespace {

constexpr auto kFreezeTimeout = std::chrono::seconds(5);

Result<fs::path> freezer_dir(const Manager& m) {
  auto dir = m.directory(m.layout() == Layout::v2 ? "unified" : "freezer");
  if (!dir) {
    return Error(ErrorKind::not_implemented, "the freezer controller is not mounted here");
  }
  return *dir;
}

Result<FreezerState> read_state(const Manager& m, const fs::path& dir) {
  if (m.layout() == Layout::v2) {
    GANTRY_ASSIGN_OR_RETURN(std::string want, read_trimmed(dir / "cgroup.freeze"));
    if (want == "0") return FreezerState::thawed;
    auto events = read_keyed(dir / "cgroup.events");
    return events["frozen"] == 1 ? FreezerState::frozen : FreezerState::freezing;
  }
  GANTRY_ASSIGN_OR_RETURN(std::string s, read_trimmed(dir / "freezer.state"));
  if (s == "THAWED") return FreezerState::thawed;
  if (s == "FREEZING") return FreezerState::freezing;
  if (s == "FROZEN") return FreezerState::frozen;
  return Error(ErrorKind::internal, "unexpected freezer.state '" + s + "' in " + dir.string());
}

Result<void> request(const Manager& m, const fs::path& dir, bool frozen) {
  if (m.layout() == Layout::v2) return write_control(dir / "cgroup.freeze", frozen ? "1" : "0");
  return write_control(dir / "freezer.state", frozen ? "FROZEN" : "THAWED");
}

}  // namespace

Result<FreezerState> Manager::freezer_state() const {
  GANTRY_ASSIGN_OR_RETURN(fs::path dir, freezer_dir(*this));
  return read_state(*this, dir);
}

Result<void> Manager::freeze() {
  GANTRY_ASSIGN_OR_RETURN(fs::path dir, freezer_dir(*this));
  auto deadline = std::chrono::steady_clock::now() + kFreezeTimeout;
  auto pause = std::chrono::microseconds(100);
  while (true) {
    // v1 may stay FREEZING when a task was busy; writing FROZEN again retries the stragglers.
    GANTRY_TRY_CTX(request(*this, dir, true), "freeze cgroup '" + cgroups_path_ + "'");
    GANTRY_ASSIGN_OR_RETURN(FreezerState s, read_state(*this, dir));
    if (s == FreezerState::frozen) return ok();
    if (std::chrono::steady_clock::now() > deadline) {
      (void)request(*this, dir, false);
      return Error(ErrorKind::unavailable,
                   "freeze cgroup '" + cgroups_path_ + "': not frozen after 5 s (thawed again)");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}

Result<void> Manager::thaw() {
  GANTRY_ASSIGN_OR_RETURN(fs::path dir, freezer_dir(*this));
  GANTRY_TRY_CTX(request(*this, dir, false), "thaw cgroup '" + cgroups_path_ + "'");
  return ok();
}

}  // namespace gantry::runtime::cgroup
