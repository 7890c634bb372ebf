// Seccomp: linux.seccomp compiled into a classic BPF program with libseccomp, in the parent,
// so that the child installs it with one seccomp(2) call and no allocation.
//
// Vocabulary: an *action* is what the filter answers for a syscall (SCMP_ACT_ALLOW,
// SCMP_ACT_ERRNO with errnoRet, SCMP_ACT_KILL{,_PROCESS,_THREAD}, SCMP_ACT_TRAP, SCMP_ACT_LOG,
// SCMP_ACT_TRACE with errnoRet as the tracer's message); an *operator* compares one syscall
// argument (SCMP_CMP_EQ, ...); an *architecture* is a syscall ABI the filter accepts besides the
// native one; *flags* are the SECCOMP_FILTER_FLAG_* passed to seccomp(2) with the program.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::oci::spec {

struct SeccompProgram {
  std::vector<sock_filter> filter;  // the BPF instructions
  unsigned int flags = 0;           // SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER)

  // The instructions as raw bytes (what launch's install_seccomp takes).
  std::vector<uint8_t> bytes() const;
};

// Compiles linux.seccomp. Errors name the field: "linux.seccomp.syscalls[2].action: unknown
// action 'SCMP_ACT_FOO'" (invalid_argument); SCMP_ACT_NOTIFY and listenerPath are
// not_implemented. Syscall names libseccomp does not know for these architectures are skipped,
// as runc does (a profile written for a newer kernel still loads).
Result<SeccompProgram> compile_seccomp(const Seccomp& seccomp);

// The name tables (also used by parse_spec and features): nullopt / false for unknown names.
std::optional<uint32_t> seccomp_action_base(std::string_view name);  // SCMP_ACT_* without errno
bool is_seccomp_action(std::string_view name);
bool is_seccomp_operator(std::string_view name);
bool is_seccomp_arch(std::string_view name);
bool is_seccomp_flag(std::string_view name);
const std::vector<std::string_view>& seccomp_action_names();  // the ones we support
const std::vector<std::string_view>& seccomp_operator_names();
const std::vector<std::string_view>& seccomp_arch_names();
const std::vector<std::string_view>& seccomp_flag_names();  // the ones we support

// Installs a compiled program in the calling thread (for tests and the launcher's child):
// one seccomp(2) call, no allocation. The caller must hold CAP_SYS_ADMIN or have set
// no_new_privs.
Result<void> install_seccomp_program(const SeccompProgram& program);

}  // namespace gantry::runtime::oci::spec
