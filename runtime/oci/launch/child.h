// Helpers for the code that runs in a child before it execs: cloning into namespaces, the
// step tracker that turns a failure into an error message for the parent, and process
// lifetime helpers of the parent.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "model/base/result.h"
#include "runtime/oci/launch/steps.h"
#include "runtime/oci/launch/sync.h"

namespace gantry::runtime::oci::launch {

// clone(2) like fork (copy-on-write, SIGCHLD on exit) with extra CLONE_* flags; returns 0 in
// the child, the child's pid in the parent, -1 with errno on failure.
pid_t clone_process(int flags);

// Runs body in the calling (child) process and never returns: a failure is sent to the parent
// as an error message naming the step, then the process exits 1.
[[noreturn]] void run_child(SyncChannel& channel,
                            const std::function<Result<void>(std::string& step)>& body);

// First thing in every child: not dumpable (the container must not reach our memory or
// /proc/<pid>/exe while runtime code runs in its namespaces: CVE-2019-5736), killed with the
// runtime, umask 0 (file modes are the config's).
void child_prologue();

// Starts the process that runs body: cloned directly with ns.clone_flags, or, when
// namespaces are joined by path, from an intermediate child that joins them (user first;
// setns of a pid namespace only affects children) and clones it as our child (CLONE_PARENT).
// The child end is closed in the parent on return.
Result<pid_t> spawn(const NamespacePlan& ns, SyncChannel& parent_end, SyncChannel& child_end,
                    const std::function<Result<void>(std::string&)>& body);

// Kills (SIGKILL) and reaps a child; used on every failure path of the parent.
void kill_and_reap(pid_t pid);
// Waits for a child to exit and returns its exit code (-1 when killed or on error).
int reap(pid_t pid);

// Reads the state letter of /proc/<pid>/stat ('R', 'S', 'Z', ...); 0 when gone.
char process_state(pid_t pid);

}  // namespace gantry::runtime::oci::launch
