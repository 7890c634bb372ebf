#include "runtime/oci/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "runtime/oci/replace_file.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

namespace {

constexpr const char* kStateFile = "state.json";
constexpr const char* kConfigFile = "config.json";
constexpr const char* kLockFile = "lock";

bool id_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '.' || c == '-';
}

Error no_such_container(std::string_view id) {
  (void)id;  // runc's message, which podman and containerd match, names no id
  return Error(ErrorKind::not_found, "container does not exist");
}

// Takes a write lock on an open lock file, waiting for the holder.
Result<void> lock_fd(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  while (::fcntl(fd, F_SETLKW, &fl) != 0) {
    if (errno != EINTR) return errno_error(errno, "lock");
  }
  return ok();
}

Result<std::string> read_file(const std::filesystem::path& path) {
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open '" + path.string() + "'");
  return sys::read_all(fd.get(), 16 << 20);
}

}  // namespace

Result<void> validate_container_id(std::string_view id) {
  bool ok_id = !id.empty() && id.size() <= 1024 && id != "." && id != ".." &&
               std::all_of(id.begin(), id.end(), id_char_ok) && id.front() != '-';
  if (!ok_id) return Error(ErrorKind::invalid_argument, "invalid container ID format");
  return ok();
}

std::string to_json(const Record& r) {
  nlohmann::json j;
  j["id"] = r.id;
  j["init_pid"] = r.init_pid;
  j["init_start_time"] = r.init_start_time;
  j["bundle"] = r.bundle;
  j["rootfs"] = r.rootfs;
  j["created"] = r.created;
  j["annotations"] = r.annotations;
  j["cgroups_path"] = r.cgroups_path;
  j["started"] = r.started;
  j["owner"] = r.owner;
  return j.dump();
}

Result<Record> record_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorKind::invalid_argument, "state.json: not a JSON object");
  }
  Record r;
  try {
    r.id = j.at("id").get<std::string>();
    r.init_pid = j.at("init_pid").get<pid_t>();
    r.init_start_time = j.at("init_start_time").get<uint64_t>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.value("rootfs", std::string());
    r.created = j.value("created", std::string());
    if (j.contains("annotations")) {
      r.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    }
    r.cgroups_path = j.value("cgroups_path", std::string());
    r.started = j.value("started", false);
    r.owner = j.value("owner", std::string());
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorKind::invalid_argument, std::string("state.json: ") + e.what());
  }
  return r;
}

Result<uint64_t> read_process_start_time(pid_t pid) {
  if (pid <= 0) return Error(ErrorKind::not_found, "no process");
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return Error(ErrorKind::not_found, "process " + std::to_string(pid) + " is gone");
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos) return Error(ErrorKind::internal, "malformed /proc stat");
  // Field 3 (state) is the first after ')'; the start time is field 22, 19 fields later.
  const char* p = text->c_str() + close + 1;
  int field = 2;
  while (*p && field < 22) {
    while (*p == ' ') ++p;
    ++field;
    if (field == 22) break;
    while (*p && *p != ' ') ++p;
  }
  if (field != 22 || !*p) return Error(ErrorKind::internal, "malformed /proc stat");
  return std::strtoull(p, nullptr, 10);
}

ProcessLiveness process_liveness(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return ProcessLiveness::gone;
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return ProcessLiveness::gone;
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return ProcessLiveness::gone;
  char state = (*text)[close + 2];
  auto st = read_process_start_time(pid);
  if (!st || *st != start_time) return ProcessLiveness::gone;
  if (state == 'Z' || state == 'X') return ProcessLiveness::zombie;
  return ProcessLiveness::alive;
}

api::ContainerState reconcile(const Record& record, ProcessLiveness init, bool frozen) {
  using api::ContainerState;
  if (init != ProcessLiveness::alive) return ContainerState::stopped;
  if (frozen) return ContainerState::paused;
  return record.started ? ContainerState::running : ContainerState::created;
}

Result<ContainerLock> StateStore::create_locked(std::string_view id) {
  GANTRY_TRY(validate_container_id(id));
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) {
    return errno_error(ec.value(), "create root directory '" + root_.string() + "'");
  }
  auto d = dir(id);
  if (::mkdir(d.c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return Error(ErrorKind::already_exists, "container with id exists: " + std::string(id));
    }
    return errno_error(errno, "create state directory '" + d.string() + "'");
  }
  sys::UniqueFd fd(
      ::open((d / kLockFile).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return errno_error(errno, "create lock of " + std::string(id));
  GANTRY_TRY_CTX(lock_fd(fd.get()), std::string(id));
  return ContainerLock(std::move(fd));
}

Result<ContainerLock> StateStore::lock(std::string_view id) {
  GANTRY_TRY(validate_container_id(id));
  auto path = dir(id) / kLockFile;
  sys::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return no_such_container(id);
    return errno_error(errno, "open lock of " + std::string(id));
  }
  GANTRY_TRY_CTX(lock_fd(fd.get()), std::string(id));
  // Deleted while we waited: the file we hold is no longer linked.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_nlink == 0) return no_such_container(id);
  return ContainerLock(std::move(fd));
}

Result<Container> StateStore::load(std::string_view id) const {
  GANTRY_TRY(validate_container_id(id));
  auto text = read_file(dir(id) / kStateFile);
  if (!text) {
    if (text.error().errno_value() == ENOENT || text.error().errno_value() == ENOTDIR) {
      return no_such_container(id);
    }
    return std::move(text).error();
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(Record record, record_from_json(*text), std::string(id));
  if (record.id != id) {
    return Error(ErrorKind::internal,
                 "state of '" + std::string(id) + "' names '" + record.id + "'");
  }
  Container c;
  auto init = process_liveness(record.init_pid, record.init_start_time);
  bool frozen = init == ProcessLiveness::alive && frozen_ && frozen_(record);
  c.state = reconcile(record, init, frozen);
  c.record = std::move(record);
  return c;
}

Result<std::pair<ContainerLock, Container>> StateStore::lock_and_load(std::string_view id) {
  GANTRY_ASSIGN_OR_RETURN(ContainerLock lock_held, lock(id));
  GANTRY_ASSIGN_OR_RETURN(Container c, load(id));
  return std::make_pair(std::move(lock_held), std::move(c));
}

Result<void> StateStore::save(const Record& record) {
  GANTRY_TRY_CTX(replace_file(dir(record.id), kStateFile, to_json(record), 0600),
                 "save state of " + record.id);
  return ok();
}

Result<std::string> StateStore::read_config(std::string_view id) const {
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, read_file(dir(id) / kConfigFile),
                              "config of " + std::string(id));
  return text;
}

Result<void> StateStore::save_config(std::string_view id, std::string_view config_json) {
  GANTRY_TRY_CTX(replace_file(dir(id), kConfigFile, config_json, 0600),
                 "save config of " + std::string(id));
  return ok();
}

Result<void> StateStore::remove(std::string_view id) {
  GANTRY_TRY(validate_container_id(id));
  sys::UniqueFd root_fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd && errno == ENOENT) return ok();
  if (!root_fd) return errno_error(errno, "open root '" + root_.string() + "'");
  GANTRY_TRY_CTX(sys::remove_tree_at(root_fd.get(), std::string(id)),
                 "remove state of " + std::string(id));
  return ok();
}

Result<std::vector<std::string>> StateStore::list_ids() const {
  sys::UniqueFd root_fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return errno_error(errno, "open root '" + root_.string() + "'");
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, sys::list_dir(root_fd.get()));
  std::vector<std::string> ids;
  for (auto& n : names) {
    struct stat st {};
    if (validate_container_id(n) &&
        ::fstatat(root_fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      ids.push_back(n);
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string rfc3339_nano_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

}  // namespace gantry::runtime::oci
