// `exec [options] ID CMD...` or `exec --process FILE ID`: a new process in a created or running
// container's namespaces, cgroup and root (launch::exec). Without --detach gantry-oci waits for
// it, passing signals on, and returns its status.
#include <fcntl.h>

#include <cerrno>
#include <charconv>
#include <optional>

#include "runtime/oci/cgroup_warmup.h"
#include "runtime/oci/child_wait.h"
#include "runtime/oci/console_socket.h"
#include "runtime/oci/launch/launch.h"
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/pid_file.h"
#include "runtime/oci/stored_config.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

namespace {

Result<uint32_t> parse_id(std::string_view text, std::string_view what) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Error(ErrorKind::invalid_argument,
                 std::string(what) + ": '" + std::string(text) + "' is not a number");
  }
  return v;
}

Result<std::string> read_process_file(const std::string& path) {
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "--process: open '" + path + "'");
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, sys::read_all(fd.get(), 16 << 20),
                              "--process: read '" + path + "'");
  return text;
}

void add_cap(std::vector<std::string>& set, const std::string& cap) {
  if (std::find(set.begin(), set.end(), cap) == set.end()) set.push_back(cap);
}

}  // namespace

Result<spec::Process> exec_process(const spec::Spec& container_spec, const ExecOptions& o) {
  if (!o.process_file.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::string text, read_process_file(o.process_file));
    GANTRY_ASSIGN_OR_RETURN_CTX(spec::Process p, spec::parse_process(text),
                                "--process '" + o.process_file + "'");
    return p;
  }
  if (o.args.empty()) return Error(ErrorKind::invalid_argument, "exec args cannot be empty");
  spec::Process p = container_spec.process.value_or(spec::Process{});
  p.args = o.args;
  p.terminal = o.tty;
  p.console_size.reset();
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (p.cwd.empty()) p.cwd = "/";
  for (const auto& e : o.env) p.env.push_back(e);
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    GANTRY_ASSIGN_OR_RETURN(p.user.uid, parse_id(o.user.substr(0, colon), "--user uid"));
    if (colon != std::string::npos) {
      GANTRY_ASSIGN_OR_RETURN(p.user.gid, parse_id(o.user.substr(colon + 1), "--user gid"));
    }
  }
  for (uint32_t g : o.additional_gids) p.user.additional_gids.push_back(g);
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities = spec::Capabilities{};
    for (const auto& cap : o.caps) {
      add_cap(p.capabilities->bounding, cap);
      add_cap(p.capabilities->effective, cap);
      add_cap(p.capabilities->permitted, cap);
      add_cap(p.capabilities->inheritable, cap);
      add_cap(p.capabilities->ambient, cap);
    }
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
  if (!o.process_label.empty()) p.selinux_label = o.process_label;
  return p;
}

Result<int> exec(StateStore& store, const ExecOptions& o) {
  std::optional<pid_t> warmup = o.cgroup_warmup_pid;
  struct ReapWarmup {
    std::optional<pid_t>& pid;
    ~ReapWarmup() {
      if (pid) reap_cgroup_warmup(*pid);
    }
  } reap_warmup{warmup};
  if (!o.cgroup.empty()) {
    return Error(ErrorKind::not_implemented, "--cgroup: sub-cgroups are not supported");
  }
  if (o.preserve_fds < 0) {
    return Error(ErrorKind::invalid_argument, "--preserve-fds: must not be negative");
  }
  GANTRY_ASSIGN_OR_RETURN(auto held, store.lock_and_load(o.id));
  Container& c = held.second;
  bool paused_ok = o.ignore_paused && c.state == api::ContainerState::paused;
  if (!api::can_exec(c.state) && !paused_ok) return api::illegal_transition("exec", o.id, c.state);
  GANTRY_ASSIGN_OR_RETURN(spec::Spec spec, load_stored_spec(store, o.id));
  GANTRY_ASSIGN_OR_RETURN(spec::Process process, exec_process(spec, o));
  if (process.terminal && o.console_socket.empty()) {
    return Error(ErrorKind::invalid_argument, "--tty needs --console-socket");
  }
  sys::UniqueFd console;
  if (!o.console_socket.empty()) {
    GANTRY_ASSIGN_OR_RETURN(console, connect_console_socket(o.console_socket));
  }
  GANTRY_ASSIGN_OR_RETURN(cgroup::Manager manager, manager_for(c.record));

  launch::ExecRequest request;
  request.init_pid = c.record.init_pid;
  request.spec = &spec;
  request.process = std::move(process);
  request.console_socket_fd = console ? console.get() : -1;
  request.preserve_fds = o.preserve_fds;
  request.on_child_started = [&](pid_t pid) -> Result<void> {
    GANTRY_TRY_CTX(manager.add_process(pid), "place the exec'd process in the cgroup");
    return ok();
  };
  GANTRY_ASSIGN_OR_RETURN_CTX(pid_t pid, launch::exec(request), "exec in " + o.id);
  end_cgroup_warmup(*warmup);  // done with: the process is in the cgroup
  warmup.reset();
  log_debug("exec in " + o.id + ": pid " + std::to_string(pid));
  // From here the container may change state: other invocations may proceed.
  held.first = ContainerLock();
  SignalForwarder forwarder;
  if (!o.pid_file.empty()) {
    auto r = write_pid_file(o.pid_file, pid);
    if (!r) {
      ::kill(pid, SIGKILL);
      (void)forwarder.wait(pid);
      return std::move(r).error();
    }
  }
  if (o.detach) return 0;
  GANTRY_ASSIGN_OR_RETURN(sys::ExitStatus status, forwarder.wait(pid));
  return exit_code_of(status);
}

}  // namespace gantry::runtime::oci
