#include "model/oci/oci_model.h"

#include <algorithm>

namespace gantry::model::oci {
namespace {

using api::ContainerState;
using Phase = Process::Phase;

constexpr int kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigKill = 9, kSigTerm = 15;
constexpr int kSigStop = 19, kSigTstp = 20, kSigTtin = 21, kSigTtou = 22;
// Go's runtime exits with 2 when a fatal signal it re-raises does not kill it (pid 1).
constexpr int kRuntimeInitSignalExit = 2;
constexpr int kBadArgumentsExit = 2;
constexpr int kCommandFailedExit = 1;

using Files = std::map<std::string, std::string>;

void exit_with(Process& p, int status) {
  p.phase = Phase::exited;
  p.exit_status = status;
  p.pending.clear();
}

// Runs the program from command `next` to its first blocking point or its end. A `sleep N`
// blocks unless `finish_timed_sleeps` (a Wait, or an exec the runtime waits for).
void run_from_next(Process& p, Files& files, bool finish_timed_sleeps) {
  while (p.next < p.program.size()) {
    const Command& c = p.program[p.next];
    switch (c.verb) {
      case Verb::exit:
        exit_with(p, c.number);
        return;
      case Verb::print:
        p.output += c.text + "\n";
        break;
      case Verb::write:
        files[c.path] = c.text;
        break;
      case Verb::cat: {
        auto it = files.find(c.path);
        if (it == files.end()) {
          exit_with(p, kCommandFailedExit);
          return;
        }
        p.output += it->second;
        break;
      }
      case Verb::sleep:
        if (c.number < 0) {
          p.phase = Phase::blocked;
          return;
        }
        if (!finish_timed_sleeps) {
          p.phase = Phase::sleeping;
          return;
        }
        break;
      case Verb::trap:
        p.traps[c.number] = c.action;
        break;
      case Verb::report:
        p.output += std::string(kReportLine) + "\n";
        break;
    }
    ++p.next;
  }
  exit_with(p, 0);
}

// Lets a settled process go on: only a timed sleep ends, and only when asked to.
void resume_sleep(Process& p, Files& files, bool finish_timed_sleeps) {
  if (p.phase != Phase::sleeping || !finish_timed_sleeps) return;
  ++p.next;
  run_from_next(p, files, finish_timed_sleeps);
}

// Starts test_init in a process (the init at `start`, or an exec'd one).
void begin(Process& p, Files& files, bool finish_timed_sleeps) {
  p.next = 0;
  if (!p.program_valid) {
    exit_with(p, kBadArgumentsExit);
    return;
  }
  run_from_next(p, files, finish_timed_sleeps);
}

// Delivers one signal to a process that is not frozen.
void deliver(Process& p, int signo) {
  if (p.phase == Phase::exited) return;
  if (signo == kSigKill) {
    exit_with(p, 128 + kSigKill);
    return;
  }
  if (p.phase == Phase::waiting) {
    if (runtime_init_dies_of(signo)) exit_with(p, kRuntimeInitSignalExit);
    return;
  }
  auto trap = p.traps.find(signo);
  if (trap != p.traps.end()) {
    switch (trap->second) {
      case TrapAction::exit:
        exit_with(p, 128 + signo);
        return;
      case TrapAction::print:
        p.output += "signal " + signal_name(signo) + "\n";
        return;  // a sleep goes on sleeping
      case TrapAction::ignore:
        return;
    }
  }
  // Default disposition: pid 1 of a pid namespace does not get it at all.
  if (!p.pid1 && default_action_terminates(signo)) exit_with(p, 128 + signo);
}

// Queues a signal for a frozen process; SIGKILL acts at once (observed: a paused container
// killed with SIGKILL is stopped without a resume).
void deliver_frozen(Process& p, int signo) {
  if (p.phase == Phase::exited) return;
  if (signo == kSigKill) {
    exit_with(p, 128 + kSigKill);
    return;
  }
  if (std::find(p.pending.begin(), p.pending.end(), signo) == p.pending.end()) {
    p.pending.push_back(signo);
  }
}

// The kernel sets up one handler frame per pending signal, lowest number first, each on top
// of the last: so the handlers run from the highest signal number down (observed: USR2, USR1,
// HUP pending at resume print in that order), and an exit stops the rest.
void deliver_pending(Process& p) {
  std::vector<int> pending = std::move(p.pending);
  p.pending.clear();
  std::sort(pending.begin(), pending.end(), std::greater<int>());
  for (int signo : pending) deliver(p, signo);
}

// When the init has exited the pid namespace ends: every other process gets SIGKILL.
void reap_if_init_exited(Container& c) {
  if (c.init.phase != Phase::exited) return;
  for (auto& e : c.execs) {
    if (e.phase != Phase::exited) exit_with(e, 128 + kSigKill);
  }
}

void thaw(Container& c) {
  c.frozen = false;
  deliver_pending(c.init);
  for (auto& e : c.execs) deliver_pending(e);
  reap_if_init_exited(c);
}

Outcome illegal(std::string_view op, const std::string& id, ContainerState state) {
  return Outcome::failure(api::illegal_transition(op, id, state).kind());
}

Process make_process(const std::vector<std::string>& args, bool pid1) {
  Process p;
  p.pid1 = pid1;
  auto program = parse_test_init(args);
  if (program) {
    p.program = std::move(program).value();
  } else {
    p.program_valid = false;
  }
  return p;
}

}  // namespace

bool runtime_init_dies_of(int signo) {
  return signo == kSigKill || signo == kSigHup || signo == kSigInt || signo == kSigQuit ||
         signo == kSigTerm;
}

bool default_action_terminates(int signo) {
  switch (signo) {
    case 17:  // SIGCHLD
    case 18:  // SIGCONT
    case 23:  // SIGURG
    case 28:  // SIGWINCH
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou:
      return false;
    default:
      return signo >= 1 && signo <= 31;
  }
}

ContainerState Container::state() const {
  if (init.phase == Phase::exited) return ContainerState::stopped;
  if (frozen) return ContainerState::paused;
  if (init.phase == Phase::waiting) return ContainerState::created;
  return ContainerState::running;
}

const std::string& op_id(const OciOp& op) {
  return std::visit([](const auto& o) -> const std::string& { return o.id; }, op);
}

Outcome OciModel::apply(const OciOp& op) {
  return std::visit(
      [this](const auto& o) -> Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Create>) return create(o);
        if constexpr (std::is_same_v<T, Start>) return start(o);
        if constexpr (std::is_same_v<T, Kill>) return kill(o);
        if constexpr (std::is_same_v<T, Delete>) return remove(o);
        if constexpr (std::is_same_v<T, Pause>) return pause(o);
        if constexpr (std::is_same_v<T, Resume>) return resume(o);
        if constexpr (std::is_same_v<T, State>) return state(o);
        if constexpr (std::is_same_v<T, Exec>) return exec(o);
        if constexpr (std::is_same_v<T, Wait>) return wait(o);
      },
      op);
}

std::optional<ContainerState> OciModel::state_of(const std::string& id) const {
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second.state();
}

const Container* OciModel::container(const std::string& id) const {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : &it->second;
}

std::vector<std::string> OciModel::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, c] : containers_) out.push_back(id);
  return out;
}

bool OciModel::wait_would_block(const std::string& id) const {
  auto it = containers_.find(id);
  if (it == containers_.end()) return false;
  Container c = it->second;
  if (c.init.phase == Phase::exited) return false;
  if (c.frozen || c.init.phase == Phase::waiting) return true;
  resume_sleep(c.init, c.files, /*finish_timed_sleeps=*/true);
  return c.init.phase != Phase::exited;
}

Outcome OciModel::create(const Create& op) {
  if (op.id.empty()) return Outcome::failure(ErrorKind::invalid_argument);
  if (containers_.count(op.id)) return Outcome::failure(ErrorKind::already_exists);
  Container c;
  c.init = make_process(op.args, /*pid1=*/true);
  c.init.phase = Phase::waiting;
  containers_.emplace(op.id, std::move(c));
  return Outcome::success();
}

Outcome OciModel::start(const Start& op) {
  auto it = containers_.find(op.id);
  if (it == containers_.end()) return Outcome::failure(ErrorKind::not_found);
  Container& c = it->second;
  if (!api::can_start(c.state())) return illegal("start", op.id, c.state());
  begin(c.init, c.files, false);
  reap_if_init_exited(c);
  return Outcome::success();
}

Outcome OciModel::kill(const Kill& op) {
  if (op.signal < 1 || op.signal > 64) return Outcome::failure(ErrorKind::invalid_argument);
  if (op.signal > 31 || op.signal == kSigStop || op.signal == kSigTstp || op.signal == kSigTtin ||
      op.signal == kSigTtou) {
    return Outcome::failure(ErrorKind::not_implemented);
  }
  auto it = containers_.find(op.id);
  if (it == containers_.end()) return Outcome::failure(ErrorKind::not_found);
  Container& c = it->second;
  if (!api::can_kill(c.state())) return illegal("kill", op.id, c.state());
  if (op.all) {
    // runc signals every process of the cgroup between a freeze and a thaw: a paused
    // container comes out of `kill --all` thawed (observed, runc 1.1.5).
    deliver_frozen(c.init, op.signal);
    for (auto& e : c.execs) deliver_frozen(e, op.signal);
    thaw(c);
  } else if (c.frozen) {
    deliver_frozen(c.init, op.signal);
  } else {
    deliver(c.init, op.signal);
  }
  reap_if_init_exited(c);
  return Outcome::success();
}

Outcome OciModel::remove(const Delete& op) {
  auto it = containers_.find(op.id);
  if (it == containers_.end()) {
    // runc: `delete --force` of an id it does not know succeeds.
    return op.force ? Outcome::success() : Outcome::failure(ErrorKind::not_found);
  }
  if (!op.force && !api::can_delete(it->second.state())) {
    return illegal("delete", op.id, it->second.state());
  }
  containers_.erase(it);
  return Outcome::success();
}

Outcome OciModel::pause(const Pause& op) {
  auto it = containers_.find(op.id);
  if (it == containers_.end()) return Outcome::failure(ErrorKind::not_found);
  Container& c = it->second;
  if (!api::can_pause(c.state())) return illegal("pause", op.id, c.state());
  c.frozen = true;
  return Outcome::success();
}

Outcome OciModel::resume(const Resume& op) {
  auto it = containers_.find(op.id);
  if (it == containers_.end()) return Outcome::failure(ErrorKind::not_found);
  Container& c = it->second;
  if (!api::can_resume(c.state())) return illegal("resume", op.id, c.state());
  thaw(c);
  return Outcome::success();
}

Outcome OciModel::state(const State& op) {
  auto s = state_of(op.id);
  if (!s) return Outcome::failure(ErrorKind::not_found);
  Outcome out;
  out.state = *s;
  return out;
}

Outcome OciModel::exec(const Exec& op) {
  auto it = containers_.find(op.id);
  if (it == containers_.end()) return Outcome::failure(ErrorKind::not_found);
  Container& c = it->second;
  if (!api::can_exec(c.state())) return illegal("exec", op.id, c.state());
  Process p = make_process(op.args, /*pid1=*/false);
  if (op.detach) {
    begin(p, c.files, false);
    c.execs.push_back(std::move(p));
    return Outcome::success();
  }
  Files files = c.files;
  begin(p, files, true);
  if (p.phase != Phase::exited) return Outcome::failure(ErrorKind::unavailable);
  c.files = std::move(files);
  Outcome out;
  out.exit_status = p.exit_status;
  out.output = p.output;
  return out;
}

Outcome OciModel::wait(const Wait& op) {
  auto it = containers_.find(op.id);
  if (it == containers_.end()) return Outcome::failure(ErrorKind::not_found);
  if (wait_would_block(op.id)) return Outcome::failure(ErrorKind::unavailable);
  Container& c = it->second;
  resume_sleep(c.init, c.files, /*finish_timed_sleeps=*/true);
  reap_if_init_exited(c);
  Outcome out;
  out.exit_status = c.init.exit_status;
  out.output = c.init.output;
  return out;
}

std::ostream& operator<<(std::ostream& os, const OciOp& op) {
  auto args = [&os](const std::vector<std::string>& a) {
    for (const auto& s : a) os << ' ' << s;
  };
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Create>) {
          os << "create " << o.id << " test_init";
          args(o.args);
        } else if constexpr (std::is_same_v<T, Start>) {
          os << "start " << o.id;
        } else if constexpr (std::is_same_v<T, Kill>) {
          os << "kill " << (o.all ? "--all " : "") << o.id << ' ' << signal_name(o.signal);
        } else if constexpr (std::is_same_v<T, Delete>) {
          os << "delete " << (o.force ? "--force " : "") << o.id;
        } else if constexpr (std::is_same_v<T, Pause>) {
          os << "pause " << o.id;
        } else if constexpr (std::is_same_v<T, Resume>) {
          os << "resume " << o.id;
        } else if constexpr (std::is_same_v<T, State>) {
          os << "state " << o.id;
        } else if constexpr (std::is_same_v<T, Exec>) {
          os << "exec " << (o.detach ? "--detach " : "") << o.id << " test_init";
          args(o.args);
        } else if constexpr (std::is_same_v<T, Wait>) {
          os << "wait " << o.id;
        }
      },
      op);
  return os;
}

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  if (o.error) return os << "error " << *o.error;
  os << "ok";
  if (o.state) os << " state=" << api::to_string(*o.state);
  if (o.exit_status) os << " exit=" << *o.exit_status;
  if (o.output) os << " output='" << *o.output << "'";
  return os;
}

}  // namespace gantry::model::oci
