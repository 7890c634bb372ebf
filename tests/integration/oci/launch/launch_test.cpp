// The real create/start/exec path, as root: a busybox rootfs, containers that write what they
// see into a bound /out directory, and the host checked for anything left behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/oci/launch/launch.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
namespace launch = gantry::runtime::oci::launch;
namespace spec = gantry::runtime::oci::spec;
using gantry::testing::TempDir;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool have_busybox() {
  return gantry::testing::require(access("/bin/busybox", X_OK) == 0,
                                  "/bin/busybox (busybox-static) is not installed");
}

// A bundle: rootfs with busybox and its applets, /out bound from the host.
struct Bundle {
  TempDir dir{"gantry-launch"};
  fs::path rootfs = dir / "rootfs";
  fs::path out = dir / "out";
  fs::path fifo = dir / "exec.fifo";
  spec::Spec spec;

  Bundle() {
    // Reachable by a container's root mapped to another host uid (user namespaces).
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    fs::create_directories(rootfs / "bin");
    fs::create_directories(out);
    fs::permissions(out, fs::perms::all);  // containers may run as any user
    fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
    for (const char* applet : {"sh", "cat", "hostname", "id", "grep", "ls", "sleep", "echo", "true",
                               "readlink", "stat", "touch", "mount", "wc", "tty", "stty", "uname"})
      fs::create_symlink("busybox", rootfs / "bin" / applet);
    for (const char* d : {"proc", "sys", "dev", "etc", "tmp", "out"})
      fs::create_directories(rootfs / d);
    spec = default_spec();
  }

  spec::Spec default_spec() const {
    spec::Spec s;
    s.oci_version = "1.1.0";
    s.root.path = rootfs.string();
    s.hostname = "gantry-box";
    spec::Process p;
    p.args = {"/bin/sh", "-c", "true"};
    p.env = {"PATH=/bin", "TERM=xterm"};
    p.cwd = "/";
    spec::Capabilities caps;
    caps.bounding = caps.effective =
        caps.permitted = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"};
    p.capabilities = caps;
    p.no_new_privileges = true;
    s.process = p;
    auto mount = [](std::string dest, std::string type, std::string source,
                    std::vector<std::string> options) {
      spec::Mount m;
      m.destination = std::move(dest);
      m.type = std::move(type);
      m.source = std::move(source);
      m.options = std::move(options);
      return m;
    };
    s.mounts = {
        mount("/proc", "proc", "proc", {}),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
        mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mount("/sys/fs/cgroup", "cgroup", "cgroup",
              {"nosuid", "noexec", "nodev", "relatime", "ro"}),
        mount("/out", "bind", out.string(), {"rbind", "rw"}),
    };
    for (auto t : {spec::NamespaceType::pid, spec::NamespaceType::network, spec::NamespaceType::ipc,
                   spec::NamespaceType::uts, spec::NamespaceType::mount})
      s.linux.namespaces.push_back(spec::Namespace{t, ""});
    s.linux.masked_paths = {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/acpi",
                            "/sys/firmware"};
    s.linux.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"};
    return s;
  }

  void run_script(const std::string& script) { spec.process->args = {"/bin/sh", "-c", script}; }

  launch::CreateRequest request() const {
    launch::CreateRequest r;
    r.container_id = "t1";
    r.spec = &spec;
    r.bundle = dir.path();
    r.exec_fifo = fifo;
    return r;
  }

  std::string output(const std::string& name) const { return trim(read_file(out / name)); }
};

int wait_exit(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE_EQUAL(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_container(Bundle& b) {
  auto created = launch::create(b.request());
  BOOST_REQUIRE_MESSAGE(created.has_value(),
                        (created ? std::string() : created.error().to_string()));
  BOOST_CHECK(fs::exists(b.fifo));
  auto started = launch::start(b.fifo, created->pid);
  BOOST_REQUIRE_MESSAGE(started.has_value(),
                        (started ? std::string() : started.error().to_string()));
  BOOST_CHECK(!fs::exists(b.fifo));
  return wait_exit(created->pid);
}

std::string host_mounts() {
  return read_file("/proc/self/mountinfo");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_launch)

BOOST_AUTO_TEST_CASE(create_start_wait_sees_its_own_world) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  b.spec.process->user.uid = 1000;
  b.spec.process->user.gid = 1000;
  // A non-root user keeps capabilities across exec only through the ambient set.
  auto& caps = *b.spec.process->capabilities;
  caps.inheritable = caps.ambient = caps.effective;
  b.run_script(
      "hostname > /out/hostname; id -u > /out/uid; id -g > /out/gid; "
      "grep CapEff /proc/self/status > /out/caps; grep CapBnd /proc/self/status > /out/bnd; "
      "cat /proc/mounts > /out/mounts; echo $$ > /out/pid; "
      "wc -c < /proc/timer_list > /out/masked; ls /sys/firmware | wc -l > /out/masked-dir; ls "
      "/proc/self/fd > /out/fds; readlink /dev/stdout > "
      "/out/stdout; touch /proc/sys/x 2>/out/rosys; echo done > /out/done");
  std::string before = host_mounts();
  BOOST_CHECK_EQUAL(run_container(b), 0);
  BOOST_CHECK_EQUAL(b.output("done"), "done");
  BOOST_CHECK_EQUAL(b.output("hostname"), "gantry-box");
  BOOST_CHECK_EQUAL(b.output("uid"), "1000");
  BOOST_CHECK_EQUAL(b.output("gid"), "1000");
  BOOST_CHECK_EQUAL(b.output("pid"), "1");
  // CAP_CHOWN(0) CAP_KILL(5) CAP_NET_BIND_SERVICE(10) CAP_AUDIT_WRITE(29): 0x20000421.
  BOOST_CHECK_EQUAL(b.output("caps"), "CapEff:\t0000000020000421");
  BOOST_CHECK_EQUAL(b.output("bnd"), "CapBnd:\t0000000020000421");
  std::string mounts = b.output("mounts");
  for (const char* m : {" /proc proc ", " /dev tmpfs ", " /dev/pts devpts ", " /sys sysfs ro",
                        " /dev/mqueue mqueue ", " /sys/fs/cgroup tmpfs ", " /out "})
    BOOST_CHECK_MESSAGE(mounts.find(m) != std::string::npos, "mount '" << m << "' in " << mounts);
  BOOST_CHECK_EQUAL(b.output("masked"), "0");        // /dev/null over a file
  BOOST_CHECK_EQUAL(b.output("masked-dir"), "0");    // an empty tmpfs over a directory
  BOOST_CHECK_EQUAL(b.output("fds"), "0\n1\n2\n3");  // 3 is ls's own directory
  BOOST_CHECK_EQUAL(b.output("stdout"), "/proc/self/fd/1");
  BOOST_CHECK(!b.output("rosys").empty());  // /proc/sys is read-only
  BOOST_CHECK_EQUAL(host_mounts(), before);
}

BOOST_AUTO_TEST_CASE(no_fd_of_the_caller_reaches_the_container) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  int leaked = open("/", O_RDONLY | O_DIRECTORY);  // not O_CLOEXEC on purpose
  BOOST_REQUIRE(leaked >= 3);
  b.run_script("ls /proc/self/fd > /out/fds");
  BOOST_CHECK_EQUAL(run_container(b), 0);
  close(leaked);
  BOOST_CHECK_EQUAL(b.output("fds"), "0\n1\n2\n3");
}

BOOST_AUTO_TEST_CASE(readonly_root) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  b.spec.root.readonly = true;
  b.run_script("touch /etc/x 2>/out/err; echo $? > /out/rc; touch /out/ok");
  BOOST_CHECK_EQUAL(run_container(b), 0);
  BOOST_CHECK(b.output("rc") != "0");
  BOOST_CHECK(fs::exists(b.out / "ok"));
  BOOST_CHECK(!fs::exists(b.rootfs / "etc/x"));
}

BOOST_AUTO_TEST_CASE(mount_target_symlinked_to_root_stays_inside) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  fs::create_symlink("/", b.rootfs / "evil");
  spec::Mount m;
  m.destination = "/evil/gantry-escape-check";
  m.type = "tmpfs";
  m.source = "tmpfs";
  b.spec.mounts.push_back(m);
  b.run_script("cat /proc/mounts > /out/mounts");
  std::string before = host_mounts();
  BOOST_CHECK_EQUAL(run_container(b), 0);
  BOOST_CHECK(!fs::exists("/gantry-escape-check"));
  BOOST_CHECK(fs::is_directory(b.rootfs / "gantry-escape-check"));
  BOOST_CHECK(b.output("mounts").find(" /gantry-escape-check tmpfs ") != std::string::npos);
  BOOST_CHECK_EQUAL(host_mounts(), before);
}

BOOST_AUTO_TEST_CASE(a_failing_step_leaves_nothing_behind) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  spec::Mount m;
  m.destination = "/data";
  m.type = "bind";
  m.source = (b.dir / "no-such-source").string();
  m.options = {"rbind"};
  b.spec.mounts.push_back(m);
  std::string before = host_mounts();
  auto created = launch::create(b.request());
  BOOST_REQUIRE(!created);
  BOOST_CHECK_EQUAL(created.error().kind(), gantry::ErrorKind::not_found);
  BOOST_CHECK_MESSAGE(created.error().message().find("mounts[8]") != std::string::npos,
                      created.error().message());
  BOOST_CHECK(!fs::exists(b.fifo));
  BOOST_CHECK_EQUAL(host_mounts(), before);
  errno = 0;
  BOOST_CHECK_EQUAL(waitpid(-1, nullptr, WNOHANG), -1);  // no child left, not even a zombie
  BOOST_CHECK_EQUAL(errno, ECHILD);
}

BOOST_AUTO_TEST_CASE(a_missing_executable_fails_create) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  b.spec.process->args = {"no-such-program"};
  auto created = launch::create(b.request());
  BOOST_REQUIRE(!created);
  BOOST_CHECK_EQUAL(created.error().kind(), gantry::ErrorKind::not_found);
  BOOST_CHECK(!fs::exists(b.fifo));
}

BOOST_AUTO_TEST_CASE(start_twice_is_not_found) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  BOOST_CHECK_EQUAL(run_container(b), 0);
  auto again = launch::start(b.fifo);
  BOOST_REQUIRE(!again);
  BOOST_CHECK_EQUAL(again.error().kind(), gantry::ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(exec_joins_a_running_container) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  b.run_script("echo $$ > /out/init; exec sleep 30");
  auto created = launch::create(b.request());
  BOOST_REQUIRE_MESSAGE(created.has_value(),
                        (created ? std::string() : created.error().to_string()));
  BOOST_REQUIRE(launch::start(b.fifo, created->pid).has_value());
  launch::ExecRequest e;
  e.init_pid = created->pid;
  e.spec = &b.spec;
  e.process = *b.spec.process;
  e.process.args = {"/bin/sh", "-c",
                    "hostname > /out/exec-hostname; echo $$ > /out/exec-pid; "
                    "grep CapEff /proc/self/status > /out/exec-caps; ls /proc/self/fd > "
                    "/out/exec-fds"};
  auto pid = launch::exec(e);
  BOOST_REQUIRE_MESSAGE(pid.has_value(), (pid ? std::string() : pid.error().to_string()));
  BOOST_CHECK_EQUAL(wait_exit(*pid), 0);
  BOOST_CHECK_EQUAL(b.output("exec-hostname"), "gantry-box");
  BOOST_CHECK(b.output("exec-pid") != "1");
  BOOST_CHECK_EQUAL(b.output("exec-caps"), "CapEff:\t0000000020000421");
  BOOST_CHECK_EQUAL(b.output("exec-fds"), "0\n1\n2\n3");
  kill(created->pid, SIGKILL);
  BOOST_CHECK_EQUAL(wait_exit(created->pid), 128 + SIGKILL);
}

BOOST_AUTO_TEST_CASE(user_namespace_with_id_maps) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  b.spec.linux.namespaces.push_back(spec::Namespace{spec::NamespaceType::user, ""});
  b.spec.linux.uid_mappings = {spec::IdMapping{0, 100000, 65536}};
  b.spec.linux.gid_mappings = {spec::IdMapping{0, 100000, 65536}};
  fs::create_directories(b.dir / "ro");
  fs::create_directories(b.rootfs / "ro");
  spec::Mount ro;
  ro.destination = "/ro";
  ro.type = "bind";
  ro.source = (b.dir / "ro").string();
  ro.options = {"rbind", "ro"};
  b.spec.mounts.push_back(ro);
  b.run_script(
      "touch /ro/x 2>/dev/null || echo refused > /out/ro; "
      "id -u > /out/uid; cat /proc/self/uid_map > /out/uid_map; cat /proc/self/gid_map > "
      "/out/gid_map; hostname > /out/hostname; echo x > /dev/null && echo ok > /out/devnull");
  BOOST_CHECK_EQUAL(run_container(b), 0);
  BOOST_CHECK_EQUAL(b.output("uid"), "0");
  BOOST_CHECK(b.output("uid_map").find("100000") != std::string::npos);
  BOOST_CHECK(b.output("gid_map").find("100000") != std::string::npos);
  BOOST_CHECK_EQUAL(b.output("hostname"), "gantry-box");
  BOOST_CHECK_EQUAL(b.output("devnull"), "ok");
  BOOST_CHECK_EQUAL(b.output("ro"), "refused");
  struct stat st;
  BOOST_REQUIRE_EQUAL(stat((b.out / "uid").c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_uid, 100000u);  // the container's root is 100000 on the host
}

BOOST_AUTO_TEST_CASE(cwd_through_a_leaked_fd_is_refused) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  // CVE-2024-21626: a directory fd of the host open while the init changes directory.
  int leaked = open("/tmp", O_RDONLY | O_DIRECTORY);
  BOOST_REQUIRE(leaked >= 3);
  b.spec.process->cwd = "/proc/self/fd/" + std::to_string(leaked);
  auto created = launch::create(b.request());
  close(leaked);
  BOOST_REQUIRE(!created);
  BOOST_CHECK_MESSAGE(created.error().message().find("process.cwd") != std::string::npos,
                      created.error().message());
  BOOST_CHECK(!fs::exists(b.fifo));
}

BOOST_AUTO_TEST_CASE(preserved_fds_reach_the_container) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  // Put /dev/null at fds 3, 4 and 5 (not close-on-exec, as runc --preserve-fds expects of its
  // caller); whatever the test runner had there is saved and put back.
  int saved[3];
  int opened = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int null_fd = fcntl(opened, F_DUPFD_CLOEXEC, 100);  // never one of 3..5 itself
  close(opened);
  for (int i = 0; i < 3; ++i) {
    saved[i] = fcntl(3 + i, F_DUPFD_CLOEXEC, 100);
    BOOST_REQUIRE_EQUAL(dup2(null_fd, 3 + i), 3 + i);
  }
  close(null_fd);
  auto restore = [&] {
    for (int i = 0; i < 3; ++i) {
      if (saved[i] >= 0) {
        dup3(saved[i], 3 + i, O_CLOEXEC);
        close(saved[i]);
      } else {
        close(3 + i);
      }
    }
  };
  launch::CreateRequest r = b.request();
  r.preserve_fds = 2;
  b.run_script("ls /proc/self/fd > /out/fds");
  auto created = launch::create(r);
  restore();
  BOOST_REQUIRE_MESSAGE(created.has_value(),
                        (created ? std::string() : created.error().to_string()));
  BOOST_REQUIRE(launch::start(b.fifo, created->pid).has_value());
  BOOST_CHECK_EQUAL(wait_exit(created->pid), 0);
  BOOST_CHECK_EQUAL(b.output("fds"), "0\n1\n2\n3\n4\n5");  // 5: ls's directory
}

BOOST_AUTO_TEST_CASE(container_hooks_run_in_order) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  auto hook = [&](const std::string& name) {
    spec::Hook h;
    h.path = "/bin/sh";  // resolved in the runtime's namespace for createContainer
    h.args = {"sh", "-c",
              "cat >> " + (b.out / "hooks").string() + "; echo " + name + " >> " +
                  (b.out / "hooks").string()};
    return h;
  };
  b.spec.hooks.create_container = {hook("createContainer")};
  spec::Hook start;
  start.path = "/bin/sh";  // resolved in the container for startContainer
  start.args = {"sh", "-c", "cat >> /out/hooks; echo startContainer >> /out/hooks"};
  b.spec.hooks.start_container = {start};
  launch::CreateRequest r = b.request();
  std::vector<std::string> calls;
  r.callbacks.on_child_started = [&](pid_t) -> gantry::Result<void> {
    calls.push_back("child_started");
    return gantry::ok();
  };
  r.callbacks.on_runtime_hooks = [&](pid_t) -> gantry::Result<void> {
    calls.push_back("runtime_hooks");
    return gantry::ok();
  };
  r.callbacks.state_json = [](pid_t pid) { return "{\"pid\":" + std::to_string(pid) + "}"; };
  b.run_script("echo process >> /out/hooks");
  auto created = launch::create(r);
  BOOST_REQUIRE_MESSAGE(created.has_value(),
                        (created ? std::string() : created.error().to_string()));
  BOOST_CHECK_EQUAL(b.output("hooks"),
                    "{\"pid\":" + std::to_string(created->pid) + "}createContainer");
  BOOST_REQUIRE(launch::start(b.fifo, created->pid).has_value());
  BOOST_CHECK_EQUAL(wait_exit(created->pid), 0);
  std::string pid_json = "{\"pid\":" + std::to_string(created->pid) + "}";
  BOOST_CHECK_EQUAL(b.output("hooks"),
                    pid_json + "createContainer\n" + pid_json + "startContainer\nprocess");
  BOOST_CHECK((calls == std::vector<std::string>{"child_started", "runtime_hooks"}));
}

BOOST_AUTO_TEST_CASE(a_failing_callback_kills_the_child) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  launch::CreateRequest r = b.request();
  r.callbacks.on_runtime_hooks = [](pid_t) -> gantry::Result<void> {
    return gantry::Error(gantry::ErrorKind::failed_precondition, "prestart hook failed");
  };
  std::string before = host_mounts();
  auto created = launch::create(r);
  BOOST_REQUIRE(!created);
  BOOST_CHECK_EQUAL(created.error().kind(), gantry::ErrorKind::failed_precondition);
  BOOST_CHECK(!fs::exists(b.fifo));
  BOOST_CHECK_EQUAL(host_mounts(), before);
  BOOST_CHECK_EQUAL(waitpid(-1, nullptr, WNOHANG), -1);
}

BOOST_AUTO_TEST_CASE(joins_a_namespace_by_path) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle first;
  first.run_script("exec sleep 30");
  auto one = launch::create(first.request());
  BOOST_REQUIRE_MESSAGE(one.has_value(), (one ? std::string() : one.error().to_string()));
  Bundle second;
  for (auto& ns : second.spec.linux.namespaces)
    if (ns.type == spec::NamespaceType::uts || ns.type == spec::NamespaceType::network)
      ns.path = "/proc/" + std::to_string(one->pid) + "/ns/" +
                (ns.type == spec::NamespaceType::uts ? "uts" : "net");
  second.spec.hostname.clear();
  second.run_script("hostname > /out/hostname; readlink /proc/self/ns/net > /out/net");
  BOOST_CHECK_EQUAL(run_container(second), 0);
  BOOST_CHECK_EQUAL(second.output("hostname"), "gantry-box");
  char link[128] = {};
  std::string path = "/proc/" + std::to_string(one->pid) + "/ns/net";
  BOOST_REQUIRE(readlink(path.c_str(), link, sizeof link - 1) > 0);
  BOOST_CHECK_EQUAL(second.output("net"), link);
  kill(one->pid, SIGKILL);
  wait_exit(one->pid);
}

namespace {
// The fd and payload of one SCM_RIGHTS message.
int receive_fd(int sock, std::string& name) {
  char buf[256];
  struct iovec iov {
    buf, sizeof buf
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(sock, &msg, 0);
  if (n < 0) return -1;
  name.assign(buf, static_cast<size_t>(n));
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}
}  // namespace

BOOST_AUTO_TEST_CASE(terminal_sends_the_pty_master_over_the_console_socket) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  int sv[2];
  BOOST_REQUIRE_EQUAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  b.spec.process->terminal = true;
  b.spec.process->console_size = spec::ConsoleSize{40, 100};
  b.run_script(
      "tty > /out/tty; stty size > /out/size 2>&1; readlink /proc/self/fd/0 > /out/stdin; echo "
      "hello-from-tty");
  launch::CreateRequest r = b.request();
  r.console_socket_fd = sv[1];
  auto created = launch::create(r);
  close(sv[1]);
  BOOST_REQUIRE_MESSAGE(created.has_value(),
                        (created ? std::string() : created.error().to_string()));
  std::string name;
  int master = receive_fd(sv[0], name);
  close(sv[0]);
  BOOST_REQUIRE(master >= 0);
  BOOST_CHECK(name.rfind("/dev/pts/", 0) == 0);
  BOOST_REQUIRE(launch::start(b.fifo, created->pid).has_value());
  std::string seen;
  char buf[256];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the slave side is gone
    seen.append(buf, static_cast<size_t>(n));
  }
  close(master);
  BOOST_CHECK_EQUAL(wait_exit(created->pid), 0);
  BOOST_CHECK_MESSAGE(seen.find("hello-from-tty") != std::string::npos, seen);
  BOOST_CHECK_EQUAL(b.output("tty"), name);
  BOOST_CHECK_EQUAL(b.output("stdin"), name);
  BOOST_CHECK_EQUAL(b.output("size"), "40 100");
}

BOOST_AUTO_TEST_CASE(terminal_without_a_console_socket_is_refused) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  b.spec.process->terminal = true;
  auto created = launch::create(b.request());
  BOOST_REQUIRE(!created);
  BOOST_CHECK_EQUAL(created.error().kind(), gantry::ErrorKind::invalid_argument);
  BOOST_CHECK(!fs::exists(b.fifo));
}

BOOST_AUTO_TEST_CASE(seccomp_filter_applies_to_the_process) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  for (bool nnp : {true, false}) {
    Bundle b;
    b.spec.process->no_new_privileges = nnp;
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    spec::SeccompSyscall deny;
    deny.names = {"mkdir", "mkdirat"};
    deny.action = "SCMP_ACT_ERRNO";
    deny.errno_ret = 1;  // EPERM
    sc.syscalls = {deny};
    b.spec.linux.seccomp = sc;
    b.run_script(
        "mkdir /tmp/d 2>/out/err; echo $? > /out/rc; grep Seccomp: /proc/self/status > /out/mode");
    BOOST_CHECK_EQUAL(run_container(b), 0);
    BOOST_CHECK(b.output("rc") != "0");
    BOOST_CHECK_MESSAGE(b.output("err").find("not permitted") != std::string::npos,
                        b.output("err"));
    BOOST_CHECK_EQUAL(b.output("mode"), "Seccomp:\t2");
    BOOST_CHECK(!fs::exists(b.rootfs / "tmp/d"));
  }
}

BOOST_AUTO_TEST_CASE(rlimits_oom_score_groups_sysctl) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  Bundle b;
  spec::Rlimit nofile;
  nofile.type = "RLIMIT_NOFILE";
  nofile.resource = RLIMIT_NOFILE;
  nofile.soft = 512;
  nofile.hard = 1024;
  b.spec.process->rlimits = {nofile};
  b.spec.process->oom_score_adj = 500;
  b.spec.process->user.additional_gids = {10, 20};
  b.spec.linux.sysctl = {{"kernel.shmmni", "2048"}};
  b.spec.domainname = "example.org";
  b.spec.linux.personality = spec::Personality{"LINUX32", {}};
  b.run_script(
      "uname -m > /out/machine; ulimit -n > /out/soft; ulimit -Hn > /out/hard; cat "
      "/proc/self/oom_score_adj > /out/oom; "
      "id -G > /out/groups; cat /proc/sys/kernel/shmmni > /out/shmmni; "
      "cat /proc/sys/kernel/domainname > /out/domain");
  std::string host_shmmni = read_file("/proc/sys/kernel/shmmni");
  BOOST_CHECK_EQUAL(run_container(b), 0);
  BOOST_CHECK_EQUAL(b.output("soft"), "512");
  BOOST_CHECK_EQUAL(b.output("hard"), "1024");
  BOOST_CHECK_EQUAL(b.output("oom"), "500");
  BOOST_CHECK_EQUAL(b.output("groups"), "0 10 20");
  BOOST_CHECK_EQUAL(b.output("shmmni"), "2048");
  BOOST_CHECK_EQUAL(b.output("domain"), "example.org");
  BOOST_CHECK_EQUAL(b.output("machine"), "i686");  // LINUX32 on x86_64
  BOOST_CHECK_EQUAL(read_file("/proc/sys/kernel/shmmni"), host_shmmni);
}

BOOST_AUTO_TEST_CASE(the_callback_places_the_init_in_a_cgroup_it_then_sees) {
  if (!gantry::testing::require_root() || !have_busybox()) return;
  fs::path cg = "/sys/fs/cgroup/pids/gantry-launch-test-" + std::to_string(getpid());
  if (!gantry::testing::require(fs::is_directory("/sys/fs/cgroup/pids"),
                                "no cgroup v1 pids hierarchy at /sys/fs/cgroup/pids"))
    return;
  fs::create_directory(cg);
  Bundle b;
  launch::CreateRequest r = b.request();
  r.callbacks.on_child_started = [&](pid_t pid) -> gantry::Result<void> {
    std::ofstream(cg / "cgroup.procs") << pid << "\n";
    return gantry::ok();
  };
  b.run_script(
      "grep pids /proc/self/cgroup > /out/cgroup; cat /sys/fs/cgroup/pids/pids.max > "
      "/out/max; touch /sys/fs/cgroup/pids/x 2>/dev/null || echo ro > /out/ro");
  std::ofstream(cg / "pids.max") << "77\n";
  auto created = launch::create(r);
  BOOST_REQUIRE_MESSAGE(created.has_value(),
                        (created ? std::string() : created.error().to_string()));
  BOOST_REQUIRE(launch::start(b.fifo, created->pid).has_value());
  BOOST_CHECK_EQUAL(wait_exit(created->pid), 0);
  BOOST_CHECK(b.output("cgroup").find("gantry-launch-test-") != std::string::npos);
  BOOST_CHECK_EQUAL(b.output("max"), "77");
  BOOST_CHECK_EQUAL(b.output("ro"), "ro");
  fs::remove(cg);
}

BOOST_AUTO_TEST_SUITE_END()
