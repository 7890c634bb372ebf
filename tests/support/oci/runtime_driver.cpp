#include "tests/support/oci/runtime_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/sys/fs.h"

namespace gantry::testing::oci {

namespace fs = std::filesystem;
namespace sys = runtime::sys;

namespace {

// Pids of inits some driver holds a pidfd for: reap_orphans leaves them to their driver.
std::set<pid_t>& held_inits() {
  static std::set<pid_t> pids;
  return pids;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

sys::ExitStatus status_from(const siginfo_t& info) {
  sys::ExitStatus s;
  if (info.si_code == CLD_EXITED) {
    s.exited = true;
    s.exit_code = info.si_status;
  } else {
    s.term_signal = info.si_status;
  }
  return s;
}

void read_available(sys::UniqueFd& fd, std::string& into) {
  if (!fd) return;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) fd.reset();
    return;
  }
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string Outcome::describe() const {
  std::string s = status.describe();
  std::string err = trim(stderr_text);
  if (!err.empty()) s += ": " + err;
  return s;
}

Result<fs::path> runtime_under_test() {
  return sys::find_program("gantry-oci", "GANTRY_OCI_RUNTIME");
}

Result<fs::path> peer_runtime(const std::string& name) {
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    fs::path p = fs::path(dir) / name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return Error(ErrorKind::not_found, "peer runtime '" + name + "' not found in the usual bins");
}

Result<void> become_subreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    return errno_error(errno, "prctl PR_SET_CHILD_SUBREAPER");
  return ok();
}

void reap_orphans() {
  const pid_t self = getpid();
  DIR* d = opendir("/proc");
  if (d == nullptr) return;
  std::vector<pid_t> zombies;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    std::string stat = read_file(fs::path("/proc") / e->d_name / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 4 >= stat.size()) continue;
    char state = stat[paren + 2];
    long ppid = std::strtol(stat.c_str() + paren + 4, nullptr, 10);
    if (ppid == self && state == 'Z' && held_inits().count(static_cast<pid_t>(pid)) == 0)
      zombies.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  for (pid_t pid : zombies) waitpid(pid, nullptr, WNOHANG);
}

RuntimeDriver::RuntimeDriver(fs::path runtime, std::string name)
    : runtime_(std::move(runtime)), name_(std::move(name)) {
  auto sub = become_subreaper();
  if (!sub) std::cerr << "warning: " << sub.error().to_string() << "\n";
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gantry-oci-driver.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl);
  scratch_ = buf.data();
  root_ = scratch_ / "root";
  fs::create_directories(root_);
  fs::create_directories(scratch_ / "out");
}

RuntimeDriver::~RuntimeDriver() {
  cleanup();
  std::error_code ec;
  fs::remove_all(scratch_, ec);
}

Result<Outcome> RuntimeDriver::command(const std::vector<std::string>& args, int stdout_fd,
                                       int timeout_ms) {
  std::vector<std::string> argv = {runtime_.string(), "--root", root_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  // stdin /dev/null, stdout on stdout_fd (or captured), stderr captured; descriptors the test
  // left without O_CLOEXEC reach the runtime as they are (the fd-leak checks rely on that).
  GANTRY_ASSIGN_OR_RETURN(sys::Child child, sys::spawn(argv, {.capture_stdout = stdout_fd < 0,
                                                              .capture_stderr = true,
                                                              .stdin_null = true,
                                                              .stdout_fd = stdout_fd}));
  std::string what = name_;
  for (const auto& a : args) what += " " + a;
  // Wait for the runtime while reaping what is handed to us meanwhile: `delete --force` of a
  // container with a detached exec waits for the init, which the kernel reports only once the
  // exec'd process (our orphan by then) is reaped.
  held_inits().insert(child.pid());
  Outcome out;
  const int64_t deadline = now_ms() + timeout_ms;
  bool timed_out = false;
  for (;;) {
    pollfd fds[3] = {{child.pidfd().get(), POLLIN, 0},
                     {child.stdout_fd().get(), POLLIN, 0},
                     {child.stderr_fd().get(), POLLIN, 0}};
    int r = poll(fds, 3, 20);
    read_available(child.stdout_fd(), out.stdout_text);
    read_available(child.stderr_fd(), out.stderr_text);
    if (r > 0 && (fds[0].revents & POLLIN) != 0) break;
    reap_orphans();
    if (now_ms() >= deadline) {
      timed_out = true;
      syscall(SYS_pidfd_send_signal, child.pidfd().get(), SIGKILL, nullptr, 0);
      break;
    }
  }
  siginfo_t info{};
  int r;
  do {
    r = waitid(P_PIDFD, static_cast<id_t>(child.pidfd().get()), &info, WEXITED);
  } while (r < 0 && errno == EINTR);
  held_inits().erase(child.pid());
  if (r < 0) return errno_error(errno, what + ": waitid");
  read_available(child.stdout_fd(), out.stdout_text);
  read_available(child.stderr_fd(), out.stderr_text);
  reap_orphans();
  if (timed_out)
    return errno_error(
        ETIMEDOUT, what + ": still running after " + std::to_string(timeout_ms) + " ms; killed");
  out.status = status_from(info);
  return out;
}

fs::path RuntimeDriver::output_path(const std::string& id) const {
  auto it = outputs_.find(id);
  return it != outputs_.end() ? it->second : scratch_ / "out" / "none";
}

std::string RuntimeDriver::output(const std::string& id) const {
  return read_file(output_path(id));
}

bool RuntimeDriver::wait_output(const std::string& id, const std::string& prefix,
                                int timeout_ms) const {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    if (output(id).rfind(prefix, 0) == 0) return true;
    if (now_ms() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<Outcome> RuntimeDriver::create_like(const std::string& verb, const std::string& id,
                                           const fs::path& bundle,
                                           const std::vector<std::string>& extra) {
  fs::path out_path = scratch_ / "out" / (std::to_string(++file_count_) + "-" + id + ".out");
  int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "open " + out_path.string());
  sys::UniqueFd out(fd);
  ids_.push_back(id);
  std::vector<std::string> args = {verb, "--bundle", bundle.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  GANTRY_ASSIGN_OR_RETURN(Outcome o, command(args, out.get()));
  if (o.ok()) {
    outputs_[id] = out_path;
    adopt_init(id);
  }
  return o;
}

Result<Outcome> RuntimeDriver::create(const std::string& id, const fs::path& bundle) {
  return create_like("create", id, bundle, {});
}

Result<Outcome> RuntimeDriver::run_detached(const std::string& id, const fs::path& bundle) {
  return create_like("run", id, bundle, {"--detach"});
}

void RuntimeDriver::adopt_init(const std::string& id) {
  auto st = state(id);
  if (!st || st->pid <= 0) return;
  // The runtime has exited, so the init is our child (we are the subreaper): its pid cannot be
  // reused before we reap it, and the pidfd names exactly it.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, st->pid, 0));
  if (pidfd < 0) return;
  Init& init = inits_[id];
  if (init.pidfd && !init.exit) {
    // An id used again before the old init was seen to exit: keep both reaped.
    siginfo_t info{};
    waitid(P_PIDFD, static_cast<id_t>(init.pidfd.get()), &info, WEXITED | WNOHANG);
  }
  held_inits().erase(init.pid);
  init.pid = st->pid;
  init.pidfd.reset(pidfd);
  init.exit.reset();
  held_inits().insert(init.pid);
}

Result<Outcome> RuntimeDriver::start(const std::string& id) {
  return command({"start", id});
}

Result<Outcome> RuntimeDriver::kill(const std::string& id, const std::string& signal, bool all) {
  if (all) return command({"kill", "--all", id, signal});
  return command({"kill", id, signal});
}

Result<Outcome> RuntimeDriver::remove(const std::string& id, bool force) {
  auto r = force ? command({"delete", "--force", id}) : command({"delete", id});
  if (r && r->ok()) {
    auto it = inits_.find(id);
    if (it != inits_.end()) {
      if (!wait_init(id, 5000) && it->second.pidfd) {
        // The runtime said deleted but its init lives on: end it (it is ours) so it does not
        // outlive the test; the test compares states and sees the runtime's claim.
        syscall(SYS_pidfd_send_signal, it->second.pidfd.get(), SIGKILL, nullptr, 0);
        (void)wait_init(id, 5000);
      }
      held_inits().erase(it->second.pid);
      inits_.erase(it);  // a pidfd of an init still running closes; cleanup's reap covers it
    }
    outputs_.erase(id);
  }
  return r;
}

Result<Outcome> RuntimeDriver::pause(const std::string& id) {
  return command({"pause", id});
}

Result<Outcome> RuntimeDriver::resume(const std::string& id) {
  return command({"resume", id});
}

Result<Outcome> RuntimeDriver::exec(const std::string& id, const std::vector<std::string>& args,
                                    const std::vector<std::string>& flags) {
  fs::path out_path = scratch_ / "out" / (std::to_string(++file_count_) + "-exec.out");
  int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "open " + out_path.string());
  sys::UniqueFd out(fd);
  std::vector<std::string> argv = {"exec"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(id);
  argv.insert(argv.end(), args.begin(), args.end());
  GANTRY_ASSIGN_OR_RETURN(Outcome o, command(argv, out.get()));
  o.stdout_text = read_file(out_path);
  return o;
}

Result<Outcome> RuntimeDriver::state_raw(const std::string& id) {
  return command({"state", id});
}

Result<StateInfo> RuntimeDriver::state(const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(Outcome o, state_raw(id));
  if (!o.ok()) return Error(ErrorKind::not_found, name_ + " state " + id + ": " + o.describe());
  nlohmann::json j = nlohmann::json::parse(o.stdout_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorKind::invalid_argument,
                 name_ + " state " + id + ": not a JSON object: " + o.stdout_text);
  StateInfo s;
  s.id = j.value("id", "");
  s.status = j.value("status", "");
  s.pid = j.value("pid", 0);
  s.bundle = j.value("bundle", "");
  if (s.status.empty())
    return Error(ErrorKind::invalid_argument,
                 name_ + " state " + id + ": no \"status\": " + o.stdout_text);
  return s;
}

std::optional<sys::ExitStatus> RuntimeDriver::init_exit(const std::string& id) {
  auto it = inits_.find(id);
  if (it == inits_.end() || !it->second.pidfd) return std::nullopt;
  Init& init = it->second;
  if (init.exit) return init.exit;
  siginfo_t info{};
  int r;
  do {
    r = waitid(P_PIDFD, static_cast<id_t>(init.pidfd.get()), &info, WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    // ECHILD: not our child after all (the runtime kept it); it counts as gone once the
    // pidfd says so, with an unknown status.
    pollfd p{init.pidfd.get(), POLLIN, 0};
    if (errno == ECHILD && poll(&p, 1, 0) == 1) {
      init.exit = sys::ExitStatus{false, 0, 0};
      held_inits().erase(init.pid);
    }
    return init.exit;
  }
  if (info.si_pid == 0) return std::nullopt;  // still running
  init.exit = status_from(info);
  held_inits().erase(init.pid);
  return init.exit;
}

Result<sys::ExitStatus> RuntimeDriver::wait_init(const std::string& id, int timeout_ms) {
  auto it = inits_.find(id);
  if (it == inits_.end() || !it->second.pidfd)
    return Error(ErrorKind::not_found, name_ + ": no init held for " + id);
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    if (auto e = init_exit(id)) return *e;
    // An init that is pid 1 of its namespace is not reported until every other process of the
    // namespace has been reaped, and detached execs are handed to us: reap them, as a shim
    // does on every SIGCHLD.
    reap_orphans();
    int64_t left = deadline - now_ms();
    if (left <= 0)
      return errno_error(ETIMEDOUT, name_ + ": init of " + id + " (pid " +
                                        std::to_string(it->second.pid) + ") still running after " +
                                        std::to_string(timeout_ms) + " ms");
    pollfd p{it->second.pidfd.get(), POLLIN, 0};
    poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
  }
}

std::optional<pid_t> RuntimeDriver::init_pid(const std::string& id) const {
  auto it = inits_.find(id);
  if (it == inits_.end()) return std::nullopt;
  return it->second.pid;
}

void RuntimeDriver::cleanup() {
  std::set<std::string> seen;
  for (const auto& id : ids_) {
    if (!seen.insert(id).second) continue;
    // A paused container cannot always be killed until thawed; resume first (errors ignored).
    auto st = state(id);
    if (st && st->status == "paused") (void)resume(id);
    auto r = remove(id, true);
    if (!r || !r->ok())
      std::cerr << "warning: cleanup: " << name_ << " delete --force " << id << ": "
                << (r ? r->describe() : r.error().to_string()) << "\n";
  }
  ids_.clear();
  for (auto& [id, init] : inits_) {
    if (init.pidfd && !init.exit) {
      syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0);
      pollfd p{init.pidfd.get(), POLLIN, 0};
      poll(&p, 1, 5000);
      siginfo_t info{};
      waitid(P_PIDFD, static_cast<id_t>(init.pidfd.get()), &info, WEXITED | WNOHANG);
    }
    held_inits().erase(init.pid);
  }
  inits_.clear();
  reap_orphans();
}

}  // namespace gantry::testing::oci
