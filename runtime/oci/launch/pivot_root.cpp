// pivot_root into the rootfs without a put_old directory: with "." as both arguments the old
// root is stacked on the new one; it is made a slave (so its unmount does not reach the host)
// and detached.
#include <sys/mount.h>

#include "runtime/oci/launch/steps.h"

namespace gantry::runtime::oci::launch {

Result<void> pivot_into(Syscalls& sys, int root_fd) {
  GANTRY_TRY(sys.fchdir(root_fd));
  GANTRY_TRY(sys.pivot_root(".", "."));
  GANTRY_TRY(sys.mount("", ".", "", MS_SLAVE | MS_REC, ""));
  GANTRY_TRY(sys.umount2(".", MNT_DETACH));
  return sys.chdir("/");
}

}  // namespace gantry::runtime::oci::launch
