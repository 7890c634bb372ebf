// `create --bundle B [--pid-file P] [--console-socket S] ID`: the container up to "created":
// its state directory (locked), a copy of its config, its cgroup with the limits, the init
// (launch::create) placed in the cgroup, the prestart and createRuntime hooks, state.json, then
// the pid file. A failure at any step undoes the earlier ones: no state directory, cgroup or
// process survives a failed create.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include "runtime/oci/cgroup_warmup.h"
#include "runtime/oci/console_socket.h"
#include "runtime/oci/hook_phase.h"
#include "runtime/oci/launch/launch.h"
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/pid_file.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

namespace {

Result<std::string> read_bundle_config(const std::filesystem::path& bundle) {
  auto path = bundle / "config.json";
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open '" + path.string() + "'");
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, sys::read_all(fd.get(), 64 << 20),
                              "read '" + path.string() + "'");
  return text;
}

Result<void> check_options(const CreateOptions& o, const spec::Spec& s) {
  if (o.no_pivot) {
    return Error(ErrorKind::not_implemented,
                 "--no-pivot: not supported (gantry-oci always uses "
                 "pivot_root)");
  }
  if (o.preserve_fds < 0) {
    return Error(ErrorKind::invalid_argument, "--preserve-fds: must not be negative");
  }
  if (!s.process) {
    return Error(ErrorKind::invalid_argument, "process: required to create a container");
  }
  if (s.process->terminal && o.console_socket.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "process.terminal: true needs --console-socket (cannot allocate tty if "
                 "gantry-oci will detach without setting console socket)");
  }
  if (!s.process->terminal && !o.console_socket.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "--console-socket: given, but process.terminal is false");
  }
  return ok();
}

// Undoes a create that got as far as the arguments say.
void roll_back(StateStore& store, const std::string& id, std::optional<cgroup::Manager>& manager,
               pid_t init_pid) {
  if (init_pid > 0) {
    ::kill(init_pid, SIGKILL);
    while (::waitpid(init_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (manager) {
    (void)manager->signal_all(SIGKILL);
    auto r = manager->destroy();
    if (!r) log_warning(r.error().with_context("create " + id + ": remove cgroup").to_string());
  }
  auto r = store.remove(id);
  if (!r) log_warning(r.error().with_context("create " + id).to_string());
}

std::string creating_state_json(const Record& record, pid_t pid) {
  Container c;
  c.record = record;
  c.record.init_pid = pid;
  c.state = api::ContainerState::creating;
  auto doc = state_document(c);
  doc["pid"] = pid;
  return doc.dump();
}

// runc's owner: the name of the user that created the container ("#<uid>" without one). Read
// from /etc/passwd directly, as runc does: no NSS modules to load (nscd probes, nsswitch.conf)
// on every create, and nothing that a statically linked program could not do.
std::string owner_name() {
  uid_t uid = ::geteuid();
  std::string fallback = "#" + std::to_string(uid);
  sys::UniqueFd fd(::open("/etc/passwd", O_RDONLY | O_CLOEXEC));
  if (!fd) return fallback;
  auto text = sys::read_all(fd.get(), 16 << 20);
  if (!text) return fallback;
  std::string_view rest = *text;
  const std::string want = std::to_string(uid);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    // name:password:uid:...
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos || c1 == 0) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    size_t c3 = line.find(':', c2 + 1);
    if (line.substr(c2 + 1, c3 == std::string_view::npos ? std::string_view::npos : c3 - c2 - 1) ==
        want)
      return std::string(line.substr(0, c1));
  }
  return fallback;
}

// The device cgroup rules a container gets: the config's, then what every container needs (as
// runc's default allowed devices): mknod of any node, the standard character devices, the
// pty devices, and every device the config asks to create. Without them the init (placed in
// its cgroup before the rootfs is prepared) could not create /dev/null.
spec::Resources with_default_devices(spec::Resources resources, const spec::Spec& s) {
  auto rule = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                 const char* access) {
    spec::DeviceCgroupRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    return r;
  };
  auto& d = resources.devices;
  d.push_back(rule("c", std::nullopt, std::nullopt, "m"));
  d.push_back(rule("b", std::nullopt, std::nullopt, "m"));
  for (auto [major, minor] :
       {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {10, 200}}) {
    d.push_back(rule("c", major, minor, "rwm"));
  }
  d.push_back(rule("c", 136, std::nullopt, "rwm"));
  for (const auto& dev : s.linux.devices) {
    if (dev.type == 'p') continue;
    d.push_back(rule(dev.type == 'b' ? "b" : "c", dev.major, dev.minor, "rwm"));
  }
  return resources;
}

// systemd socket activation: $LISTEN_FDS fds after stdio reach the container too (as runc).
int listen_fds() {
  const char* v = std::getenv("LISTEN_FDS");
  if (!v) return 0;
  int n = std::atoi(v);
  return n > 0 && n < 1024 ? n : 0;
}

}  // namespace

Result<void> create(StateStore& store, const CreateOptions& options) {
  GANTRY_TRY(create_held(store, options));
  return ok();
}

Result<CreatedContainer> create_held(StateStore& store, const CreateOptions& options) {
  pid_t warmup = options.cgroup_warmup_pid;
  struct ReapWarmup {
    pid_t& pid;
    ~ReapWarmup() { reap_cgroup_warmup(pid); }
  } reap_warmup{warmup};
  GANTRY_TRY(validate_container_id(options.id));
  auto bundle = std::filesystem::absolute(options.bundle).lexically_normal();
  GANTRY_ASSIGN_OR_RETURN(std::string config_text, read_bundle_config(bundle));
  GANTRY_ASSIGN_OR_RETURN_CTX(spec::Spec spec, spec::parse_spec(config_text),
                              (bundle / "config.json").string());
  GANTRY_TRY(check_options(options, spec));

  sys::UniqueFd console;
  if (!options.console_socket.empty()) {
    GANTRY_ASSIGN_OR_RETURN(console, connect_console_socket(options.console_socket));
  }

  GANTRY_ASSIGN_OR_RETURN(ContainerLock lock, store.create_locked(options.id));
  std::optional<cgroup::Manager> manager;
  pid_t init_pid = -1;
  Record record;
  record.id = options.id;
  record.bundle = bundle.string();
  record.rootfs = spec::rootfs_path(spec, bundle).string();
  record.created = rfc3339_nano_now();
  record.annotations = spec.annotations;
  record.owner = owner_name();

  auto act = [&]() -> Result<void> {
    GANTRY_TRY(store.save_config(options.id, config_text));
    GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m,
                            cgroup::Manager::open(spec.linux.cgroups_path, options.id));
    manager = std::move(m);
    record.cgroups_path = manager->cgroups_path();
    GANTRY_TRY_CTX(manager->create(), "create cgroup");
    GANTRY_TRY_CTX(manager->apply(with_default_devices(
                       spec.linux.resources.value_or(spec::Resources{}), spec)),
                   "apply linux.resources");

    launch::CreateRequest request;
    request.container_id = options.id;
    request.spec = &spec;
    request.bundle = bundle;
    request.exec_fifo = store.dir(options.id) / "exec.fifo";
    request.console_socket_fd = console ? console.get() : -1;
    request.preserve_fds = options.preserve_fds + listen_fds();
    for (const auto& [controller, dir] : manager->directories()) request.cgroup_dirs.push_back(dir);
    request.callbacks.on_child_started = [&](pid_t pid) -> Result<void> {
      log_debug("create " + options.id + ": init is pid " + std::to_string(pid));
      GANTRY_TRY_CTX(manager->add_process(pid), "place init in its cgroup");
      end_cgroup_warmup(std::exchange(warmup, -1));  // placed: no more need for it
      return ok();
    };
    request.callbacks.on_runtime_hooks = [&](pid_t pid) -> Result<void> {
      std::string state_json = creating_state_json(record, pid);
      GANTRY_TRY(run_hooks("prestart", spec.hooks.prestart, state_json));
      GANTRY_TRY(run_hooks("createRuntime", spec.hooks.create_runtime, state_json));
      return ok();
    };
    request.callbacks.state_json = [&](pid_t pid) { return creating_state_json(record, pid); };
    GANTRY_ASSIGN_OR_RETURN(launch::Created created, launch::create(request));
    init_pid = created.pid;
    record.init_pid = created.pid;
    record.init_start_time = created.start_time;
    GANTRY_TRY(store.save(record));
    if (!options.pid_file.empty()) GANTRY_TRY(write_pid_file(options.pid_file, created.pid));
    return ok();
  };
  auto r = act();
  if (!r) {
    roll_back(store, options.id, manager, init_pid);
    return std::move(r).error();
  }
  log_debug("created " + options.id + " (pid " + std::to_string(init_pid) + ")");
  return CreatedContainer{std::move(lock), std::move(record), std::move(spec)};
}

}  // namespace gantry::runtime::oci
