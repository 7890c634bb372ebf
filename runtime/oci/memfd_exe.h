// Protection against CVE-2019-5736: a container process that opens /proc/<runtime pid>/exe
// (reachable while the runtime joins or starts the container) must not be able to write the
// runtime binary on the host. gantry-oci therefore runs create, run and exec from a sealed,
// anonymous copy of itself: at their start it copies /proc/self/exe into a memfd, seals it
// (no write, grow, shrink, or further seals) and re-executes itself from it with the same argv
// and environment. Writes through /proc/self/exe then fail with EPERM, and the file on the host
// is never open in the container's reach.
//
// Cost: only the bytes the kernel's loader maps are copied (the ELF program segments; section
// headers and debug info at the end of the file are left out and the copy's section header
// table is cleared), so the copy is a few MB of page-cache to tmpfs, then one more execve.
// There is deliberately no switch to turn it off.
#pragma once

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci {

// True when /proc/self/exe is a memfd carrying all four seals (F_SEAL_SEAL, F_SEAL_SHRINK,
// F_SEAL_GROW, F_SEAL_WRITE).
bool running_from_sealed_memfd();

// A sealed memfd holding the loadable part of /proc/self/exe (close-on-exec).
Result<sys::UniqueFd> sealed_copy_of_self();

// Unless running_from_sealed_memfd(), re-executes this program from sealed_copy_of_self() with
// argv and envp; returns only when that fails. Returns ok() when already sealed.
Result<void> ensure_running_from_sealed_copy(char* const* argv, char* const* envp);

}  // namespace gantry::runtime::oci
