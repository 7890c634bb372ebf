#include "cli/mount_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "model/base/digest.h"
#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::cli {

namespace fs = std::filesystem;

namespace {
fs::path records_dir(const std::string& root) {
  return fs::path(root) / "mounts";
}
std::string record_name(const std::string& target) {
  return Digest::of(target).hex().substr(0, 16) + ".json";
}
}  // namespace

Result<std::string> canonical_target(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::canonical(dir, ec);
  if (ec) return errno_error(ec.value(), "mount point '" + dir + "'");
  return p.string();
}

Result<void> save_mount_record(const std::string& root, const MountRecord& r) {
  nlohmann::json j = {{"target", r.target},
                      {"snapshotter", r.snapshotter},
                      {"key", r.key},
                      {"image", r.image},
                      {"manifest", r.manifest}};
  fs::path dir = records_dir(root);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "create '" + dir.string() + "'");
  return runtime::sys::write_file_atomic(dir, record_name(r.target), j.dump() + "\n");
}

Result<MountRecord> load_mount_record(const std::string& root, const std::string& target) {
  fs::path path = records_dir(root) / record_name(target);
  runtime::sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return Error(ErrorKind::not_found, "'" + target +
                                             "' is not mounted by gantry (no record in " +
                                             records_dir(root).string() + ")");
    }
    return errno_error(errno, "open '" + path.string() + "'");
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, runtime::sys::read_all(fd.get(), 1 << 20),
                              "read '" + path.string() + "'");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorKind::internal, "mount record '" + path.string() + "' is not JSON");
  }
  MountRecord r;
  for (auto [field, out] : {std::pair{"target", &r.target},
                            {"snapshotter", &r.snapshotter},
                            {"key", &r.key},
                            {"image", &r.image},
                            {"manifest", &r.manifest}}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string()) {
      return Error(ErrorKind::internal,
                   "mount record '" + path.string() + "': field '" + field + "' missing");
    }
    *out = it->get<std::string>();
  }
  return r;
}

Result<void> remove_mount_record(const std::string& root, const std::string& target) {
  fs::path path = records_dir(root) / record_name(target);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return errno_error(errno, "remove '" + path.string() + "'");
  }
  return ok();
}

}  // namespace gantry::cli
