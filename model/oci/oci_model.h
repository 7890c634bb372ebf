// OciModel: the executable spec of a runc-compatible runtime's lifecycle (runc 1.1.5's
// observed behaviour, which podman and containerd rely on), with `test_init` as the program of
// every container. A copyable value: RapidCheck copies it; nothing here does I/O or syscalls.
//
// Usage (a model-vs-runtime property):
//
//   model::oci::OciModel model;
//   model::oci::OciOp op = model::oci::Kill{"c1", SIGTERM, /*all=*/false};
//   model::oci::Outcome expected = model.apply(op);     // mutates the model
//   model::oci::Outcome actual = driver.run(op);         // the same op on gantry-oci or runc
//   RC_ASSERT(actual == expected);
//   // After a mutating op whose model state is now `stopped`, the driver should wait (with a
//   // timeout) until the real container reports stopped: see "Settling" below.
//
// Vocabulary:
//   init     the container's process 1. Before `start` it is the runtime's own init waiting on
//            the exec fifo ("runc init"); from `start` on it is test_init running `args`.
//   exec     a process started in the container by Exec; never pid 1 (default signal actions
//            apply to it); killed with SIGKILL when the init exits (the pid namespace ends).
//   settle   every program runs, in the model, at once up to its first blocking point: a
//            `sleep` (forever: blocked until a signal; SECONDS: until a Wait) or its exit. A
//            frozen (paused) container makes no progress; its signals stay pending.
//   exit status  as a reaper sees it, one number: the exit code N, or 128 + signal number for a
//            death by signal (137 for SIGKILL).
//
// Settling, i.e. how "eventually" is deterministic: the model's state after an op is the state
// once every process has settled. A driver makes the real container settle before the next op:
//   - the model's init (or a detached exec) is `blocked` or `sleeping` (container(id)->init.phase,
//     ->execs[i].phase): poll /proc/<pid>/syscall until its first field is 34 (pause: `sleep`
//     forever) or 230 (clock_nanosleep: `sleep N`), with /proc/<pid>/exe being test_init. This
//     matters: `runc start` returns before test_init has even been exec'd, so a signal sent
//     right after start can arrive before the traps exist (observed: a trapped USR1 sent right
//     after start was ignored by the pid 1 that had no handler yet);
//   - the model's state_of(id) is `stopped` while the runtime still says running: poll `state`
//     until it says stopped (the init is reaped asynchronously; seconds on a loaded machine).
// Finite `sleep N` is only finished by an explicit Wait (the model keeps no time); properties
// should use `sleep` (forever), at most one per program, and terminating programs, and Wait
// only where `wait_would_block` is false.
//
// The files of a container: the model keeps what `write` made (path -> text), fresh at each
// Create (the driver gives every Create a fresh rootfs). It assumes `write` succeeds (the
// directory exists and is writable) and that `cat` of a path the container did not write
// fails (exit 1): tests write under a fresh directory such as /tmp.
//
// Error kinds (the runc message in quotes; the Outcome compares only the kind):
//   not_found            any op but Create on an unknown id ("container does not exist"),
//                        except Delete{force} which succeeds (runc: nothing to do)
//   already_exists       Create of an existing id
//   invalid_argument     Create with an empty id; a signal outside 1..64
//   not_implemented      a signal the model does not describe: SIGSTOP, SIGTSTP, SIGTTIN,
//                        SIGTTOU, and real-time signals (32..64): generators leave them out
//   failed_precondition  illegal transition (api::illegal_transition): start of a non-created
//                        container, kill/pause of a stopped one ("container not running"),
//                        pause of a paused one, resume of a non-paused one ("container not
//                        paused"), delete without force of a running or paused one, exec in a
//                        paused or stopped one
//   unavailable          Wait (or a non-detached Exec) whose program would never end
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "model/api/container_state.h"
#include "model/base/error.h"
#include "model/oci/test_init_program.h"

namespace gantry::model::oci {

// ---- Operations as data -------------------------------------------------------------------

// `runtime create ID` of a bundle whose process is `test_init args...`.
struct Create {
  std::string id;
  std::vector<std::string> args;
  bool operator==(const Create&) const = default;
};
struct Start {
  std::string id;
  bool operator==(const Start&) const = default;
};
// `runtime kill [--all] ID SIGNAL`.
struct Kill {
  std::string id;
  int signal = 15;
  bool all = false;
  bool operator==(const Kill&) const = default;
};
// `runtime delete [--force] ID`.
struct Delete {
  std::string id;
  bool force = false;
  bool operator==(const Delete&) const = default;
};
struct Pause {
  std::string id;
  bool operator==(const Pause&) const = default;
};
struct Resume {
  std::string id;
  bool operator==(const Resume&) const = default;
};
// `runtime state ID`: the status only (pids, times and the bundle path are not compared).
struct State {
  std::string id;
  bool operator==(const State&) const = default;
};
// `runtime exec [--detach] ID test_init args...`. Not detached: the outcome has the exec'd
// process's exit status and stdout. Detached: ok; the process lives on in the container.
struct Exec {
  std::string id;
  std::vector<std::string> args;
  bool detach = false;
  bool operator==(const Exec&) const = default;
};
// Wait until the init exits (the driver reaps it as a subreaper, or waits on its pidfd); the
// outcome has its exit status and everything it wrote to stdout. A `sleep N` in progress
// finishes. Unavailable when the init would never exit (created, paused, blocked forever).
struct Wait {
  std::string id;
  bool operator==(const Wait&) const = default;
};

using OciOp = std::variant<Create, Start, Kill, Delete, Pause, Resume, State, Exec, Wait>;

const std::string& op_id(const OciOp& op);
std::ostream& operator<<(std::ostream& os, const OciOp& op);

// ---- Outcomes -----------------------------------------------------------------------------

// What an op gives back, normalized: the error kind, or the result. Fields an op does not
// produce stay empty: State sets `state`; Exec (not detached) and Wait set `exit_status` and
// `output` (stdout, report lines replaced by kReportLine: see normalize_output).
struct Outcome {
  std::optional<ErrorKind> error;
  std::optional<api::ContainerState> state;
  std::optional<int> exit_status;
  std::optional<std::string> output;

  bool ok() const { return !error.has_value(); }
  bool operator==(const Outcome&) const = default;

  static Outcome failure(ErrorKind kind) { return Outcome{kind, {}, {}, {}}; }
  static Outcome success() { return Outcome{}; }
};
std::ostream& operator<<(std::ostream& os, const Outcome& outcome);

// ---- The model ----------------------------------------------------------------------------

// One process of a container, as the model sees it.
struct Process {
  enum class Phase {
    waiting,   // the runtime's init before start (runc init waiting on the exec fifo)
    blocked,   // in `sleep` forever
    sleeping,  // in `sleep N` (ends at a Wait)
    exited,
  };
  Program program;
  bool program_valid = true;  // false: test_init exits 2 when it starts
  size_t next = 0;            // index of the next command to run
  Phase phase = Phase::waiting;
  bool pid1 = true;
  std::map<int, TrapAction> traps;
  std::vector<int> pending;  // signals that arrived while frozen, in arrival order, no dups
  int exit_status = 0;       // when exited
  std::string output;        // stdout so far (report lines as kReportLine)

  bool operator==(const Process&) const = default;
};

struct Container {
  Process init;
  std::vector<Process> execs;                // detached execs (finished ones stay, exited)
  bool frozen = false;                       // paused
  std::map<std::string, std::string> files;  // what `write` left, by path

  // The status `runtime state` reports.
  api::ContainerState state() const;
  bool operator==(const Container&) const = default;
};

class OciModel {
 public:
  // Applies the op (mutating the model when it succeeds) and returns its outcome.
  Outcome apply(const OciOp& op);

  // Observations for drivers and generators (no mutation).
  std::optional<api::ContainerState> state_of(const std::string& id) const;
  bool exists(const std::string& id) const { return containers_.count(id) != 0; }
  // True when Wait on `id` would not return (unknown id: false, Wait says not_found).
  bool wait_would_block(const std::string& id) const;
  const Container* container(const std::string& id) const;
  std::vector<std::string> ids() const;

  bool operator==(const OciModel&) const = default;

 private:
  Outcome create(const Create& op);
  Outcome start(const Start& op);
  Outcome kill(const Kill& op);
  Outcome remove(const Delete& op);
  Outcome pause(const Pause& op);
  Outcome resume(const Resume& op);
  Outcome state(const State& op);
  Outcome exec(const Exec& op);
  Outcome wait(const Wait& op);

  std::map<std::string, Container> containers_;
};

// ---- Pieces, exposed for tests and for drivers ----------------------------------------------

// Whether runc's own init (before start) dies of this signal: it is a Go program, and Go's
// runtime turns SIGHUP, SIGINT, SIGQUIT, SIGTERM into exit(2) (as pid 1 it cannot die of its
// re-raised signal) and SIGKILL into 137, while it ignores SIGUSR1, SIGUSR2, SIGCHLD,
// SIGWINCH, SIGURG, SIGPIPE, SIGALRM, SIGCONT (observed, runc 1.1.5, reaped as a subreaper).
bool runtime_init_dies_of(int signo);
// The default action of a signal for a process that is not pid 1: true when it terminates.
bool default_action_terminates(int signo);

}  // namespace gantry::model::oci
