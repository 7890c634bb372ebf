// Mount options: a config mount's "options" array as the arguments of mount(2) and
// mount_setattr(2), in the way runc reads them.
//
// Vocabulary: *flags* are MS_* bits for the mount call itself ("ro" sets MS_RDONLY, "rw" clears
// it); *propagation* is the MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE change applied by a
// separate mount call after the mount ("rprivate" = MS_PRIVATE|MS_REC); *recursive attributes*
// ("rro", "rnosuid", ...) are MOUNT_ATTR_* applied with mount_setattr(AT_RECURSIVE); *data* is
// what the file system parses itself ("mode=755,size=65536k"); every option we do not know goes
// there, as runc does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"

namespace gantry::runtime::oci::spec {

struct MountOptions {
  unsigned long flags_set = 0;    // MS_* to set in mount(2)
  unsigned long flags_clear = 0;  // MS_* an option explicitly cleared ("rw", "suid", "exec", ...)
  std::vector<unsigned long> propagation;  // each one mount(2) call, in order: MS_PRIVATE|MS_REC
  uint64_t attr_set = 0;                   // MOUNT_ATTR_* to set with mount_setattr(AT_RECURSIVE)
  uint64_t attr_clear = 0;                 // MOUNT_ATTR_* to clear with mount_setattr(AT_RECURSIVE)
  std::string data;                        // the file system's own options, comma-joined, in order
  bool bind = false;                       // "bind" or "rbind"
  bool recursive_bind = false;             // "rbind" (MS_BIND|MS_REC)

  // flags_set without the bits that flags_clear names (what mount(2) receives), with MS_BIND /
  // MS_REC for binds.
  unsigned long mount_flags() const;
  bool has_recursive_attrs() const { return attr_set != 0 || attr_clear != 0; }
};

// Translates options; `field` names the array in errors ("mounts[3].options"). Extensions we do
// not support (tmpcopyup, idmap, ridmap, copy-symlink...) are not_implemented naming the entry:
// "mounts[3].options[1]: 'tmpcopyup' is not supported". An empty option is invalid_argument.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         std::string_view field = "options");

// linux.rootfsPropagation -> MS_* flags ("rslave" = MS_SLAVE|MS_REC); "" gives 0 (the launcher
// then uses its default, rprivate as runc); unknown values are invalid_argument naming
// "linux.rootfsPropagation".
Result<unsigned long> rootfs_propagation_flags(std::string_view value);

// The option names the translator knows (for features): flags, propagation, recursive ones.
const std::vector<std::string_view>& known_mount_option_names();

}  // namespace gantry::runtime::oci::spec
