// Serving a union mount: mount, optionally daemonize, run the session until unmounted.
//
// Without `foreground` the calling process mounts, forks the server, waits until the server
// answers on the mount (so the mount is live and served), and returns; only the server comes
// back from serve() after the unmount. The pid file holds the server's pid.
#pragma once

#include "model/base/result.h"
#include "runtime/fuse/options.h"

namespace gantry::runtime::fuse {

// What the calling process should do next.
enum class Role { starter_done, server_done };

Result<Role> serve(const Options& opts);

}  // namespace gantry::runtime::fuse
