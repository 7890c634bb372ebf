// linux.seccomp compiled with libseccomp and exported as BPF (seccomp_export_bpf into a
// memfd), following what runc 1.1 does with the same profile.
#include "runtime/oci/spec/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace gantry::runtime::oci::spec {

namespace {

struct Named {
  std::string_view name;
  uint64_t value;
};

constexpr Named kActions[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
};
// Known to the spec, refused here: a notify action needs a listener (listenerPath) and an
// agent receiving the notification fd, which gantry-oci does not implement.
constexpr std::string_view kNotify = "SCMP_ACT_NOTIFY";

constexpr Named kOperators[] = {
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    {"SCMP_CMP_NE", SCMP_CMP_NE},
};

constexpr Named kArchs[] = {
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
};

constexpr Named kFlags[] = {
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
};
// Flags the spec names that need machinery we do not have (a notification listener).
constexpr std::string_view kUnsupportedFlags[] = {"SECCOMP_FILTER_FLAG_NEW_LISTENER",
                                                  "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
                                                  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

template <size_t N>
std::optional<uint64_t> lookup(const Named (&table)[N], std::string_view name) {
  for (const auto& e : table)
    if (e.name == name) return e.value;
  return std::nullopt;
}

template <size_t N>
std::vector<std::string_view> names_of(const Named (&table)[N]) {
  std::vector<std::string_view> v;
  for (const auto& e : table) v.push_back(e.name);
  return v;
}

Error invalid(const std::string& path, const std::string& message) {
  return Error(ErrorKind::invalid_argument, path + ": " + message);
}

// An action with its errno: ERRNO and TRACE take errnoRet (EPERM when absent, as runc);
// other actions must not carry one.
Result<uint32_t> resolve_action(const std::string& name, std::optional<uint32_t> errno_ret,
                                const std::string& path, const std::string& errno_path) {
  if (name == kNotify)
    return Error(ErrorKind::not_implemented, path + ": SCMP_ACT_NOTIFY is not supported");
  auto base = lookup(kActions, name);
  if (!base) return invalid(path, "unknown action '" + name + "'");
  if (name == "SCMP_ACT_ERRNO" || name == "SCMP_ACT_TRACE") {
    uint32_t e = errno_ret.value_or(EPERM);
    if (e > 0xffff) return invalid(errno_path, "must be at most 65535");
    return name == "SCMP_ACT_ERRNO" ? SCMP_ACT_ERRNO(e) : SCMP_ACT_TRACE(e);
  }
  if (errno_ret) return invalid(errno_path, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one");
  return static_cast<uint32_t>(*base);
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Error lib_error(int rc, const std::string& message) {
  return Error(rc == -EINVAL || rc == -EDOM ? ErrorKind::invalid_argument : ErrorKind::internal,
               message + ": libseccomp: " + std::strerror(-rc), -rc);
}

// The syscall's number for at least one of the filter's architectures; nullopt when
// libseccomp knows it for none.
std::optional<int> syscall_number(const std::string& name, const std::vector<uint32_t>& arches) {
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr != __NR_SCMP_ERROR) return nr;
  for (uint32_t a : arches) {
    nr = seccomp_syscall_resolve_name_arch(a, name.c_str());
    if (nr != __NR_SCMP_ERROR) return nr;
  }
  return std::nullopt;
}

Result<void> add_rules(scmp_filter_ctx ctx, const SeccompSyscall& s, uint32_t action,
                       const std::string& path, const std::vector<uint32_t>& arches) {
  std::vector<scmp_arg_cmp> cmps;
  bool repeated_index = false;
  uint32_t seen = 0;
  for (size_t i = 0; i < s.args.size(); ++i) {
    const SeccompArg& a = s.args[i];
    std::string apath = path + ".args[" + std::to_string(i) + "]";
    if (a.index > 5) return invalid(apath + ".index", "must be below 6");
    auto op = lookup(kOperators, a.op);
    if (!op) return invalid(apath + ".op", "unknown operator '" + a.op + "'");
    if (seen & (1u << a.index)) repeated_index = true;
    seen |= 1u << a.index;
    cmps.push_back(scmp_arg_cmp{a.index, static_cast<scmp_compare>(*op), a.value, a.value_two});
  }
  for (size_t n = 0; n < s.names.size(); ++n) {
    const std::string& name = s.names[n];
    std::string npath = path + ".names[" + std::to_string(n) + "]";
    if (name.empty()) return invalid(npath, "empty syscall name");
    // Like runc, a name libseccomp does not know for any of the architectures is skipped: a
    // profile written for a newer kernel (or another architecture) must still load.
    auto nr = syscall_number(name, arches);
    if (!nr) continue;
    // Two conditions on the same argument in one libseccomp rule would be ANDed and rejected;
    // runc adds one rule per condition then (they are ORed), and so do we.
    if (repeated_index) {
      for (const auto& c : cmps) {
        int rc = seccomp_rule_add_array(ctx, action, *nr, 1, &c);
        if (rc < 0) return lib_error(rc, npath + ": add rule for '" + name + "'");
      }
    } else {
      int rc =
          seccomp_rule_add_array(ctx, action, *nr, static_cast<unsigned>(cmps.size()), cmps.data());
      if (rc < 0) return lib_error(rc, npath + ": add rule for '" + name + "'");
    }
  }
  return ok();
}

Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
  int fd = ::memfd_create("gantry-seccomp", MFD_CLOEXEC);
  if (fd < 0) return errno_error(errno, "linux.seccomp: memfd_create");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) return lib_error(rc, "linux.seccomp: export the program");
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) return errno_error(errno, "linux.seccomp: size of the program");
  if (size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return Error(ErrorKind::internal, "linux.seccomp: program size is not whole instructions");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  size_t done = 0;
  auto* bytes = reinterpret_cast<char*>(prog.data());
  while (done < static_cast<size_t>(size)) {
    ssize_t n =
        ::pread(fd, bytes + done, static_cast<size_t>(size) - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error(n < 0 ? errno : EIO, "linux.seccomp: read the program");
    done += static_cast<size_t>(n);
  }
  if (prog.size() > BPF_MAXINSNS)
    return invalid("linux.seccomp", "program of " + std::to_string(prog.size()) +
                                        " instructions exceeds the kernel's limit of 4096");
  return prog;
}

}  // namespace

std::vector<uint8_t> SeccompProgram::bytes() const {
  const auto* p = reinterpret_cast<const uint8_t*>(filter.data());
  return std::vector<uint8_t>(p, p + filter.size() * sizeof(sock_filter));
}

Result<SeccompProgram> compile_seccomp(const Seccomp& seccomp) {
  if (!seccomp.listener_path.empty())
    return Error(ErrorKind::not_implemented, "linux.seccomp.listenerPath: not supported");
  GANTRY_ASSIGN_OR_RETURN(
      uint32_t default_action,
      resolve_action(seccomp.default_action, seccomp.default_errno_ret,
                     "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet"));
  SeccompProgram out;
  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    std::string path = "linux.seccomp.flags[" + std::to_string(i) + "]";
    const std::string& f = seccomp.flags[i];
    if (std::find(std::begin(kUnsupportedFlags), std::end(kUnsupportedFlags), f) !=
        std::end(kUnsupportedFlags))
      return Error(ErrorKind::not_implemented, path + ": '" + f + "' is not supported");
    auto v = lookup(kFlags, f);
    if (!v) return invalid(path, "unknown flag '" + f + "'");
    out.flags |= static_cast<unsigned>(*v);
  }
  std::vector<uint32_t> arches;
  for (size_t i = 0; i < seccomp.architectures.size(); ++i) {
    auto a = lookup(kArchs, seccomp.architectures[i]);
    if (!a) {
      return invalid("linux.seccomp.architectures[" + std::to_string(i) + "]",
                     "unknown architecture '" + seccomp.architectures[i] + "'");
    }
    arches.push_back(static_cast<uint32_t>(*a));
  }
  Ctx ctx(seccomp_init(default_action));
  if (!ctx) return Error(ErrorKind::internal, "linux.seccomp: seccomp_init failed");
  for (size_t i = 0; i < arches.size(); ++i) {
    int rc = seccomp_arch_add(ctx.get(), arches[i]);
    if (rc < 0 && rc != -EEXIST)
      return lib_error(rc, "linux.seccomp.architectures[" + std::to_string(i) + "]");
  }
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const SeccompSyscall& s = seccomp.syscalls[i];
    std::string path = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    if (s.names.empty()) return invalid(path + ".names", "at least one name is required");
    GANTRY_ASSIGN_OR_RETURN(uint32_t action, resolve_action(s.action, s.errno_ret, path + ".action",
                                                            path + ".errnoRet"));
    // libseccomp refuses a rule whose action is the default one; such a rule changes nothing,
    // and runc drops it the same way.
    if (action == default_action) continue;
    GANTRY_TRY(add_rules(ctx.get(), s, action, path, arches));
  }
  GANTRY_ASSIGN_OR_RETURN(out.filter, export_bpf(ctx.get()));
  return out;
}

std::optional<uint32_t> seccomp_action_base(std::string_view name) {
  auto v = lookup(kActions, name);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}
bool is_seccomp_action(std::string_view name) {
  return lookup(kActions, name).has_value() || name == kNotify;
}
bool is_seccomp_operator(std::string_view name) {
  return lookup(kOperators, name).has_value();
}
bool is_seccomp_arch(std::string_view name) {
  return lookup(kArchs, name).has_value();
}
bool is_seccomp_flag(std::string_view name) {
  return lookup(kFlags, name).has_value();
}

const std::vector<std::string_view>& seccomp_action_names() {
  static const std::vector<std::string_view> v = names_of(kActions);
  return v;
}
const std::vector<std::string_view>& seccomp_operator_names() {
  static const std::vector<std::string_view> v = names_of(kOperators);
  return v;
}
const std::vector<std::string_view>& seccomp_arch_names() {
  static const std::vector<std::string_view> v = names_of(kArchs);
  return v;
}
const std::vector<std::string_view>& seccomp_flag_names() {
  static const std::vector<std::string_view> v = names_of(kFlags);
  return v;
}

Result<void> install_seccomp_program(const SeccompProgram& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.filter.size());
  prog.filter = const_cast<sock_filter*>(program.filter.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) < 0)
    return errno_error(errno, "linux.seccomp: install the filter");
  return ok();
}

}  // namespace gantry::runtime::oci::spec
