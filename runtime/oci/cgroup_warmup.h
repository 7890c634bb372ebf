// Starting the kernel's wait for cgroup migrations early.
//
// Moving a process into a cgroup (a write to cgroup.procs) takes the kernel's cgroup threadgroup
// lock for writing. When no migration happened in the last grace period or so, taking it waits
// for an RCU grace period first (rcu_sync_enter): 5-20 ms on this project's 2-CPU VMs, the
// longest single step of a container start, and crun and runc pay it too. Once one writer has
// waited, every writer within about one grace period after it goes through at once.
//
// So create, run and exec start that wait as their first act, from a child process that moves
// itself into the cgroup it is already in (a no-op migration that still takes the lock): the
// grace period then runs while the program re-executes itself, parses the config and prepares
// the cgroup, and the init's own cgroup.procs write finds it over or under way. The child then
// repeats the no-op every 2 ms (each finds the lock ready and keeps it so for one more grace
// period) until it is killed and reaped, once the process is placed, or for 200 ms at most.
// Failing to start it (no cgroup file system, no permission) costs nothing but the gain.
//
// The child's pid crosses the re-execution of the program (memfd_exe.h) in the environment
// variable kWarmupEnv, which the re-executed program removes at once.
#pragma once

#include <sys/types.h>

namespace gantry::runtime::oci {

inline constexpr const char* kWarmupEnv = "_GANTRY_OCI_CGROUP_WARMUP";

// Forks the child described above; its pid, or -1 when fork failed.
pid_t start_cgroup_warmup();

// The warmup child handed over by the program before its re-execution: the pid kWarmupEnv names
// (removed from the environment), or -1 when there is none.
pid_t adopt_cgroup_warmup();

// Passes pid on to a re-execution of this program (sets kWarmupEnv); no-op for pid <= 0.
void hand_over_cgroup_warmup(pid_t pid);

// Ends the warmup child (SIGKILL) and reaps it (no-op for pid <= 0).
void reap_cgroup_warmup(pid_t pid);

// Ends the warmup child (SIGKILL) without waiting for it: reaps it only if it is already gone.
// A child killed in the middle of its cgroup.procs write still waits out that write's grace
// period in the kernel (up to a few ms) before it dies, and a start must not wait with it; it
// never runs a user instruction again, so its stack may be reused at once. Whoever waits for
// any child (SignalForwarder, a subreaper) or the exit of this process collects it later.
// No-op for pid <= 0.
void end_cgroup_warmup(pid_t pid);

}  // namespace gantry::runtime::oci
