#include "runtime/snapshot/snapshotter.h"

#include <ostream>

#include "runtime/snapshot/dir_snapshotter.h"
#include "runtime/sys/system_env.h"

namespace gantry::runtime::snapshot {

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::active:
      return "active";
    case Kind::view:
      return "view";
    case Kind::committed:
      return "committed";
  }
  return "active";
}

std::ostream& operator<<(std::ostream& os, Kind kind) {
  return os << to_string(kind);
}

Result<std::unique_ptr<Snapshotter>> open_snapshotter(std::string_view backend,
                                                      const std::filesystem::path& root, Env& env) {
  std::filesystem::path abs = std::filesystem::absolute(root).lexically_normal();
  Result<std::unique_ptr<Snapshotter>> r =
      Error(ErrorKind::invalid_argument,
            "unknown snapshotter backend '" + std::string(backend) + "' (copy, overlay, fuse)");
  if (backend == "copy") r = open_copy_snapshotter(abs, env);
  if (backend == "overlay" || backend == "fuse") r = open_union_snapshotter(abs, env, backend);
  if (!r) return std::move(r).error().with_context("open snapshotter '" + abs.string() + "'");
  return r;
}

Result<std::unique_ptr<Snapshotter>> open_snapshotter(std::string_view backend,
                                                      const std::filesystem::path& root) {
  static sys::SystemEnv system_env;
  return open_snapshotter(backend, root, system_env);
}

}  // namespace gantry::runtime::snapshot
