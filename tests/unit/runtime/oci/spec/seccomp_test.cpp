// The seccomp translator: programs compiled here, loaded in a forked child, deny what they
// should and nothing else; name tables and errors.
#include "runtime/oci/spec/seccomp.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <functional>

#include <boost/test/unit_test.hpp>

namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;

namespace {

spec::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                          std::optional<uint32_t> errno_ret = std::nullopt,
                          std::vector<spec::SeccompArg> args = {}) {
  spec::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

spec::SeccompArg arg(uint32_t index, uint64_t value, std::string op, uint64_t two = 0) {
  spec::SeccompArg a;
  a.index = index;
  a.value = value;
  a.value_two = two;
  a.op = std::move(op);
  return a;
}

// Runs `body` in a forked child after loading `program` (with no_new_privs, so that no
// privilege is needed); returns the child's wait status. The child reports by exit code.
int run_filtered(const spec::SeccompProgram& program, const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(100);
    if (!spec::install_seccomp_program(program)) ::_exit(101);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_seccomp)

BOOST_AUTO_TEST_CASE(errno_rule_denies_only_its_syscall) {
  spec::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  // An unknown name next to a known one: skipped (as runc), the rule still applies.
  s.syscalls.push_back(rule({"gantry_no_such_syscall", "getppid"}, "SCMP_ACT_ERRNO", EACCES));
  auto p = spec::compile_seccomp(s);
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  BOOST_TEST(!p->filter.empty());
  BOOST_TEST(p->bytes().size() == p->filter.size() * sizeof(sock_filter));
  int status = run_filtered(*p, [] {
    errno = 0;
    long r = ::syscall(SYS_getppid);
    if (r != -1 || errno != EACCES) return 1;
    if (::syscall(SYS_getpid) <= 0) return 2;  // others still allowed
    return 0;
  });
  BOOST_TEST(exit_code(status) == 0);
}

BOOST_AUTO_TEST_CASE(errno_defaults_to_eperm) {
  spec::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls.push_back(rule({"getppid"}, "SCMP_ACT_ERRNO"));
  auto p = spec::compile_seccomp(s);
  BOOST_REQUIRE(p);
  int status = run_filtered(*p, [] {
    errno = 0;
    return (::syscall(SYS_getppid) == -1 && errno == EPERM) ? 0 : 1;
  });
  BOOST_TEST(exit_code(status) == 0);
}

BOOST_AUTO_TEST_CASE(argument_conditions) {
  spec::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  // umask(0022) is refused, umask(0077) is not.
  s.syscalls.push_back(rule({"umask"}, "SCMP_ACT_ERRNO", EINVAL, {arg(0, 022, "SCMP_CMP_EQ")}));
  // Two conditions on the same argument: either one denies (one rule each, as runc).
  s.syscalls.push_back(rule({"dup"}, "SCMP_ACT_ERRNO", EBADF,
                            {arg(0, 100, "SCMP_CMP_EQ"), arg(0, 101, "SCMP_CMP_EQ")}));
  // MASKED_EQ: value is the mask, valueTwo the datum.
  s.syscalls.push_back(
      rule({"fchmod"}, "SCMP_ACT_ERRNO", EROFS, {arg(1, 07000, "SCMP_CMP_MASKED_EQ", 04000)}));
  auto p = spec::compile_seccomp(s);
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  int status = run_filtered(*p, [] {
    errno = 0;
    if (::syscall(SYS_umask, 022) != -1 || errno != EINVAL) return 1;
    if (::syscall(SYS_umask, 077) == -1) return 2;
    errno = 0;
    if (::syscall(SYS_dup, 100) != -1 || errno != EBADF) return 3;
    errno = 0;
    if (::syscall(SYS_dup, 101) != -1 || errno != EBADF) return 4;
    if (::syscall(SYS_dup, 1) < 0) return 5;
    errno = 0;
    if (::syscall(SYS_fchmod, 12345, 04755) != -1 || errno != EROFS) return 6;
    errno = 0;
    if (::syscall(SYS_fchmod, 12345, 0755) != -1 || errno != EBADF) return 7;
    return 0;
  });
  BOOST_TEST(exit_code(status) == 0);
}

BOOST_AUTO_TEST_CASE(kill_process_action) {
  spec::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  s.syscalls.push_back(rule({"getppid"}, "SCMP_ACT_KILL_PROCESS"));
  auto p = spec::compile_seccomp(s);
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  int status = run_filtered(*p, [] {
    ::syscall(SYS_getppid);
    return 0;
  });
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGSYS);
}

BOOST_AUTO_TEST_CASE(default_errno_with_allow_list) {
  // The docker-like shape: everything is ENOSYS (defaultErrnoRet 38) except what is listed.
  spec::Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = ENOSYS;
  // Sanitizer runtimes in the child also use sigaltstack, mmap and friends.
  s.syscalls.push_back(
      rule({"exit",           "exit_group", "getpid",   "write",       "sigaltstack",
            "mmap",           "munmap",     "mprotect", "madvise",     "rt_sigaction",
            "rt_sigprocmask", "gettid",     "prctl",    "sched_yield", "futex",
            "tgkill",         "read",       "open",     "openat",      "close"},
           "SCMP_ACT_ALLOW"));
  s.syscalls.push_back(rule({"getppid"}, "SCMP_ACT_ERRNO", ENOSYS));  // same as default: dropped
  auto p = spec::compile_seccomp(s);
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  int status = run_filtered(*p, [] {
    errno = 0;
    if (::syscall(SYS_getppid) != -1 || errno != ENOSYS) return 1;
    if (::syscall(SYS_getpid) <= 0) return 2;
    return 0;
  });
  BOOST_TEST(exit_code(status) == 0);
}

BOOST_AUTO_TEST_CASE(flags_and_actions) {
  spec::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  for (const char* a : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"})
    s.syscalls.push_back(rule({"acct"}, a));
  s.syscalls.push_back(rule({"swapon"}, "SCMP_ACT_TRACE", 5));
  auto p = spec::compile_seccomp(s);
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  BOOST_TEST(p->flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
}

BOOST_AUTO_TEST_CASE(errors_name_the_field) {
  struct Case {
    std::function<void(spec::Seccomp&)> edit;
    ErrorKind kind;
    std::string path;
  };
  std::vector<Case> cases = {
      {[](spec::Seccomp& s) { s.default_action = "SCMP_ACT_NOPE"; }, ErrorKind::invalid_argument,
       "linux.seccomp.defaultAction"},
      {[](spec::Seccomp& s) { s.default_action = "SCMP_ACT_NOTIFY"; }, ErrorKind::not_implemented,
       "linux.seccomp.defaultAction"},
      {[](spec::Seccomp& s) { s.default_errno_ret = 1; }, ErrorKind::invalid_argument,
       "linux.seccomp.defaultErrnoRet"},
      {[](spec::Seccomp& s) { s.listener_path = "/x"; }, ErrorKind::not_implemented,
       "linux.seccomp.listenerPath"},
      {[](spec::Seccomp& s) {
         s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
       },
       ErrorKind::invalid_argument, "linux.seccomp.architectures[1]"},
      {[](spec::Seccomp& s) { s.flags = {"SECCOMP_FILTER_FLAG_NEW_LISTENER"}; },
       ErrorKind::not_implemented, "linux.seccomp.flags[0]"},
      {[](spec::Seccomp& s) { s.flags = {"FLAG"}; }, ErrorKind::invalid_argument,
       "linux.seccomp.flags[0]"},
      {[](spec::Seccomp& s) { s.syscalls.push_back(rule({"read"}, "SCMP_ACT_BAD")); },
       ErrorKind::invalid_argument, "linux.seccomp.syscalls[0].action"},
      {[](spec::Seccomp& s) { s.syscalls.push_back(rule({}, "SCMP_ACT_ERRNO")); },
       ErrorKind::invalid_argument, "linux.seccomp.syscalls[0].names"},
      {[](spec::Seccomp& s) {
         s.syscalls.push_back(rule({"read", ""}, "SCMP_ACT_ERRNO"));
       },
       ErrorKind::invalid_argument, "linux.seccomp.syscalls[0].names[1]"},
      {[](spec::Seccomp& s) { s.syscalls.push_back(rule({"read"}, "SCMP_ACT_KILL", 3)); },
       ErrorKind::invalid_argument, "linux.seccomp.syscalls[0].errnoRet"},
      {[](spec::Seccomp& s) {
         s.syscalls.push_back(rule({"read"}, "SCMP_ACT_ERRNO", 1, {arg(6, 0, "SCMP_CMP_EQ")}));
       },
       ErrorKind::invalid_argument, "linux.seccomp.syscalls[0].args[0].index"},
      {[](spec::Seccomp& s) {
         s.syscalls.push_back(rule({"read"}, "SCMP_ACT_ERRNO", 1, {arg(0, 0, "SCMP_CMP_XX")}));
       },
       ErrorKind::invalid_argument, "linux.seccomp.syscalls[0].args[0].op"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    BOOST_TEST_CONTEXT("case " << i) {
      spec::Seccomp s;
      s.default_action = "SCMP_ACT_ALLOW";
      cases[i].edit(s);
      auto r = spec::compile_seccomp(s);
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().kind() == cases[i].kind, r.error().message());
      BOOST_TEST(r.error().message().rfind(cases[i].path + ":", 0) == 0, r.error().message());
    }
  }
}

BOOST_AUTO_TEST_CASE(name_tables) {
  BOOST_TEST(spec::is_seccomp_action("SCMP_ACT_ERRNO"));
  BOOST_TEST(spec::is_seccomp_action("SCMP_ACT_NOTIFY"));  // known, refused when used
  BOOST_TEST(!spec::is_seccomp_action("ALLOW"));
  BOOST_TEST(spec::is_seccomp_operator("SCMP_CMP_MASKED_EQ"));
  BOOST_TEST(spec::is_seccomp_arch("SCMP_ARCH_AARCH64"));
  BOOST_TEST(spec::is_seccomp_flag("SECCOMP_FILTER_FLAG_TSYNC"));
  BOOST_TEST(spec::seccomp_operator_names().size() == 7u);
  BOOST_TEST(*spec::seccomp_action_base("SCMP_ACT_ALLOW") == 0x7fff0000u);
}

BOOST_AUTO_TEST_SUITE_END()
