// --console-socket: the AF_UNIX stream socket a caller (containerd's shim, conmon) listens on to
// receive the pty master of a container with terminal: true (sent by launch with SCM_RIGHTS).
#pragma once

#include <string>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci {

// Connects to the socket at path (close-on-exec fd).
Result<sys::UniqueFd> connect_console_socket(const std::string& path);

}  // namespace gantry::runtime::oci
