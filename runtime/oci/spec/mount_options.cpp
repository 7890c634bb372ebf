// Mount options as runc 1.1 reads them: a table of flag options, propagation options and
// recursive (mount_setattr) options; anything else is file system data.
#include "runtime/oci/spec/mount_options.h"

#include <sys/mount.h>

#include <algorithm>

namespace gantry::runtime::oci::spec {

namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option clears the flag ("rw" clears MS_RDONLY)
  unsigned long flag;
};

// The options of mount(8) that are MS_* flags (runc's table, same names).
constexpr FlagOption kFlags[] = {
    {"acl", false, MS_POSIXACL},
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noacl", true, MS_POSIXACL},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
  std::string_view name;
  bool clear;
  uint64_t attr;
};

// Recursive options, applied with mount_setattr(AT_RECURSIVE) (runc 1.1 names).
constexpr AttrOption kAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

// The access-time mode is one field (MOUNT_ATTR__ATIME): setting a mode clears the field and
// sets the mode. "ratime", "rnorelatime" and "rnostrictatime" return to the kernel's default,
// relatime.
struct AtimeOption {
  std::string_view name;
  uint64_t mode;
};
constexpr AtimeOption kAtime[] = {
    {"rnoatime", MOUNT_ATTR_NOATIME},     {"rstrictatime", MOUNT_ATTR_STRICTATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME},   {"ratime", MOUNT_ATTR_RELATIME},
    {"rnorelatime", MOUNT_ATTR_RELATIME}, {"rnostrictatime", MOUNT_ATTR_RELATIME},
};

// Extensions other runtimes define that we do not implement: refusing them beats passing them
// to the file system as data (where they would fail with a less helpful EINVAL).
constexpr std::string_view kUnsupported[] = {"tmpcopyup", "idmap", "ridmap"};

}  // namespace

unsigned long MountOptions::mount_flags() const {
  unsigned long f = flags_set & ~flags_clear;
  if (bind) f |= MS_BIND;
  if (recursive_bind) f |= MS_REC;
  return f;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options,
                                         std::string_view field) {
  MountOptions out;
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string& o = options[i];
    auto where = [&] { return std::string(field) + "[" + std::to_string(i) + "]"; };
    if (o.empty()) return Error(ErrorKind::invalid_argument, where() + ": empty mount option");
    if (std::find(std::begin(kUnsupported), std::end(kUnsupported), o) != std::end(kUnsupported))
      return Error(ErrorKind::not_implemented, where() + ": '" + o + "' is not supported");
    bool done = false;
    for (const auto& f : kFlags) {
      if (f.name != o) continue;
      if (o == "bind" || o == "rbind") {
        out.bind = true;
        if (o == "rbind") out.recursive_bind = true;
      } else if (f.clear) {
        out.flags_clear |= f.flag;
        out.flags_set &= ~f.flag;
      } else {
        out.flags_set |= f.flag;
        out.flags_clear &= ~f.flag;
      }
      done = true;
      break;
    }
    for (const auto& p : kPropagation) {
      if (done || p.name != o) continue;
      out.propagation.push_back(p.flags);
      done = true;
    }
    for (const auto& a : kAttrs) {
      if (done || a.name != o) continue;
      if (a.clear) {
        out.attr_clear |= a.attr;
        out.attr_set &= ~a.attr;
      } else {
        out.attr_set |= a.attr;
        out.attr_clear &= ~a.attr;
      }
      done = true;
    }
    for (const auto& a : kAtime) {
      if (done || a.name != o) continue;
      out.attr_set = (out.attr_set & ~uint64_t{MOUNT_ATTR__ATIME}) | a.mode;
      out.attr_clear |= MOUNT_ATTR__ATIME;
      done = true;
    }
    if (!done) {
      if (!out.data.empty()) out.data += ',';
      out.data += o;
    }
  }
  return out;
}

Result<unsigned long> rootfs_propagation_flags(std::string_view value) {
  if (value.empty()) return 0UL;
  for (const auto& p : kPropagation)
    if (p.name == value) return p.flags;
  return Error(ErrorKind::invalid_argument,
               "linux.rootfsPropagation: unknown propagation '" + std::string(value) + "'");
}

const std::vector<std::string_view>& known_mount_option_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& f : kFlags) v.push_back(f.name);
    for (const auto& p : kPropagation) v.push_back(p.name);
    for (const auto& a : kAttrs) v.push_back(a.name);
    for (const auto& a : kAtime) v.push_back(a.name);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return names;
}

}  // namespace gantry::runtime::oci::spec
