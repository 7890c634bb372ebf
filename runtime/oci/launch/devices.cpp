// Device nodes in /dev: the default set every container gets and linux.devices; a node is made
// with mknod, or, in a user namespace (where mknod is refused), bound from the host's node.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "runtime/oci/launch/steps.h"
#include "runtime/sys/resolve.h"

namespace gantry::runtime::oci::launch {
namespace {

std::vector<spec::Device> default_devices() {
  auto dev = [](const char* path, int64_t major, int64_t minor) {
    spec::Device d;
    d.type = 'c';
    d.path = path;
    d.major = major;
    d.minor = minor;
    d.file_mode = 0666;
    d.uid = 0;
    d.gid = 0;
    return d;
  };
  return {dev("/dev/null", 1, 3),   dev("/dev/zero", 1, 5),    dev("/dev/full", 1, 7),
          dev("/dev/random", 1, 8), dev("/dev/urandom", 1, 9), dev("/dev/tty", 5, 0)};
}

Result<mode_t> node_type(const spec::Device& d) {
  switch (d.type) {
    case 'c':
    case 'u':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
  }
  return Error(ErrorKind::invalid_argument,
               "device '" + d.path + "': unknown type '" + std::string(1, d.type) + "'");
}

Result<void> bind_device(RootfsContext& ctx, const spec::Device& d) {
  GANTRY_ASSIGN_OR_RETURN(MountTarget target, make_target(ctx.sys, ctx.root_fd, d.path, true));
  return ctx.sys.mount(d.path, fd_path(target.fd.get()), "bind", MS_BIND, "");
}

Result<void> make_node(RootfsContext& ctx, const spec::Device& d) {
  GANTRY_ASSIGN_OR_RETURN(mode_t type, node_type(d));
  GANTRY_ASSIGN_OR_RETURN(sys::ParentAndName parent,
                          sys::open_parent_in_root(ctx.root_fd, d.path, true));
  mode_t mode = type | (d.file_mode.value_or(0666) & 07777);
  dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  auto made = ctx.sys.mknodat(parent.dir.get(), parent.name, mode, dev);
  if (!made) {
    if (made.error().errno_value() != EEXIST) return std::move(made).error();
    // Something is already there (a config mount or an image file): replace it, as runc.
    ::unlinkat(parent.dir.get(), parent.name.c_str(), 0);
    GANTRY_TRY(ctx.sys.mknodat(parent.dir.get(), parent.name, mode, dev));
  }
  return ctx.sys.fchownat(parent.dir.get(), parent.name, d.uid.value_or(0), d.gid.value_or(0));
}

}  // namespace

Result<void> create_devices(RootfsContext& ctx) {
  std::vector<spec::Device> devices = default_devices();
  for (const auto& d : ctx.spec.linux.devices) {
    bool replaced = false;
    for (auto& existing : devices)
      if (existing.path == d.path) existing = d, replaced = true;
    if (!replaced) devices.push_back(d);
  }
  bool user_ns = ctx.ns.new_user || ctx.ns.has(spec::NamespaceType::user);
  for (const auto& d : devices) {
    if (d.path.rfind("/dev/", 0) != 0)
      return Error(ErrorKind::invalid_argument, "device path '" + d.path + "' is not in /dev");
    GANTRY_TRY_CTX(user_ns ? bind_device(ctx, d) : make_node(ctx, d), "device '" + d.path + "'");
  }
  return ok();
}

Result<void> create_dev_symlinks(Syscalls& sys, int root_fd) {
  std::vector<std::pair<std::string, std::string>> links = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  if (sys.exists("/proc/kcore")) links.emplace_back("/proc/kcore", "core");
  GANTRY_ASSIGN_OR_RETURN(sys::ParentAndName dev, sys::open_parent_in_root(root_fd, "dev/x", true));
  for (const auto& [target, name] : links) {
    auto made = sys.symlinkat(target, dev.dir.get(), name);
    if (!made && made.error().errno_value() != EEXIST) return std::move(made).error();
  }
  return ok();
}

}  // namespace gantry::runtime::oci::launch
