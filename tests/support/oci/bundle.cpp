#include "tests/support/oci/bundle.h"

#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <vector>

#include "runtime/sys/process.h"
#include "tests/support/temp_dir.h"

namespace gantry::testing::oci {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::vector<std::string>& default_caps() {
  static const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL",
                                                "CAP_NET_BIND_SERVICE"};
  return caps;
}

// busybox --list, asked once per process.
Result<std::vector<std::string>> busybox_applets() {
  static std::once_flag once;
  static Result<std::vector<std::string>> applets = std::vector<std::string>{};
  std::call_once(once, [] {
    auto r = runtime::sys::run({"/bin/busybox", "--list"}, 20000);
    if (!r) {
      applets = std::move(r).error().with_context("busybox --list");
      return;
    }
    if (!r->status.success()) {
      applets = Error(ErrorKind::unavailable, "busybox --list: " + r->status.describe());
      return;
    }
    std::vector<std::string> names;
    size_t pos = 0;
    const std::string& out = r->stdout_text;
    while (pos < out.size()) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos) nl = out.size();
      std::string name = out.substr(pos, nl - pos);
      if (!name.empty() && name != "busybox" && name.find('/') == std::string::npos)
        names.push_back(name);
      pos = nl + 1;
    }
    applets = std::move(names);
  });
  return applets;
}

Result<void> copy_program(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return Error(kind_from_errno(ec.value()),
                 "copy '" + from.string() + "' to '" + to.string() + "': " + ec.message());
  fs::permissions(to, fs::perms(0755), ec);
  if (ec) return Error(ErrorKind::internal, "chmod '" + to.string() + "': " + ec.message());
  return ok();
}

Result<void> make_rootfs(const fs::path& rootfs) {
  std::error_code ec;
  for (const char* dir : {"bin", "dev", "proc", "sys", "tmp", "etc", "root", "data"}) {
    fs::create_directories(rootfs / dir, ec);
    if (ec)
      return Error(ErrorKind::internal, "mkdir rootfs/" + std::string(dir) + ": " + ec.message());
  }
  fs::permissions(rootfs / "tmp", fs::perms(01777), ec);
  GANTRY_TRY(copy_program("/bin/busybox", rootfs / "bin/busybox"));
  GANTRY_ASSIGN_OR_RETURN(fs::path test_init, find_test_init());
  GANTRY_TRY(copy_program(test_init, rootfs / "bin/test_init"));
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> applets, busybox_applets());
  for (const auto& name : applets) {
    fs::create_symlink("busybox", rootfs / "bin" / name, ec);
    ec.clear();  // a name busybox lists twice
  }
  std::ofstream(rootfs / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                          "nobody:x:65534:65534:nobody:/:/bin/sh\n";
  std::ofstream(rootfs / "etc/group") << "root:x:0:\nnogroup:x:65534:\n";
  return ok();
}

json caps_json(const std::vector<std::string>& caps) {
  return json{{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}};
}

json default_mounts() {
  return json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      {{"destination", "/sys/fs/cgroup"},
       {"type", "cgroup"},
       {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  });
}

}  // namespace

std::string unique_cgroups_path() {
  static std::atomic<int> counter{0};
  return "/gantry-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

Result<fs::path> find_test_init() {
  return runtime::sys::find_program("test_init", "GANTRY_TEST_INIT");
}

json make_config(const BundleOptions& o, const std::string& cgroups_path) {
  std::vector<std::string> args = o.command;
  if (args.empty()) {
    args.push_back("/bin/test_init");
    args.insert(args.end(), o.test_init_args.begin(), o.test_init_args.end());
  }
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  env.insert(env.end(), o.extra_env.begin(), o.extra_env.end());
  json user = {{"uid", o.uid}, {"gid", o.gid}};
  if (!o.additional_gids.empty()) user["additionalGids"] = o.additional_gids;
  json rlimits = json::array();
  for (const auto& r : o.rlimits)
    rlimits.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});

  json process = {
      {"terminal", false},  {"user", user},
      {"args", args},       {"env", env},
      {"cwd", o.cwd},       {"capabilities", caps_json(o.capabilities.value_or(default_caps()))},
      {"rlimits", rlimits}, {"noNewPrivileges", o.no_new_privileges}};

  json mounts = default_mounts();
  for (const auto& m : o.extra_mounts) {
    json j = {{"destination", m.destination}, {"type", m.type}, {"source", m.source}};
    if (!m.options.empty()) j["options"] = m.options;
    mounts.push_back(j);
  }

  json namespaces = json::array();
  for (const auto& ns : o.namespaces) namespaces.push_back({{"type", ns}});

  json resources = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (o.memory_limit_bytes) resources["memory"] = {{"limit", *o.memory_limit_bytes}};
  if (o.pids_limit) resources["pids"] = {{"limit", *o.pids_limit}};

  json linux_section = {
      {"resources", resources},
      {"namespaces", namespaces},
      {"cgroupsPath", cgroups_path},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };

  json config = {{"ociVersion", "1.0.2-dev"},
                 {"process", process},
                 {"root", {{"path", "rootfs"}, {"readonly", o.readonly_root}}},
                 {"hostname", o.hostname},
                 {"mounts", mounts},
                 {"linux", linux_section}};
  if (!o.hooks.is_null()) config["hooks"] = o.hooks;
  return config;
}

Result<Bundle> Bundle::make(const BundleOptions& options) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gantry-bundle.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return errno_error(errno, "mkdtemp " + tmpl);
  Bundle b;
  b.path_ = buf.data();
  // The bundle directory is only ours; runtimes and containers running as other users (the
  // `user` knob) still need to traverse it.
  std::error_code ec;
  fs::permissions(b.path_, fs::perms(0755), ec);
  GANTRY_TRY_CTX(make_rootfs(b.rootfs()), "bundle " + b.path_.string());
  b.config_ = make_config(options, unique_cgroups_path());
  GANTRY_TRY(b.write_config());
  return b;
}

Bundle::Bundle(Bundle&& o) noexcept
    : path_(std::exchange(o.path_, fs::path())), config_(std::move(o.config_)) {}

Bundle& Bundle::operator=(Bundle&& o) noexcept {
  if (this != &o) {
    this->~Bundle();
    path_ = std::exchange(o.path_, fs::path());
    config_ = std::move(o.config_);
  }
  return *this;
}

Bundle::~Bundle() {
  if (path_.empty()) return;
  // A runtime that failed half way may have left a mount below the bundle (rootfs bind).
  remove_tree_with_mounts(path_);
  path_.clear();
}

Result<void> Bundle::write_config() const {
  std::ofstream out(path_ / "config.json", std::ios::trunc);
  out << config_.dump(2) << "\n";
  out.close();
  if (!out) return Error(ErrorKind::internal, "write " + (path_ / "config.json").string());
  return ok();
}

}  // namespace gantry::testing::oci
