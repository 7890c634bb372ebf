// Capability names and numbers (the kernel's linux/capability.h, 0..40), and the five sets.
#include "runtime/oci/spec/capabilities.h"

#include <linux/capability.h>

#include <array>

namespace gantry::runtime::oci::spec {

namespace {

// Indexed by capability number; the static_asserts tie the order to the kernel headers.
constexpr std::array<std::string_view, kLastCapability + 1> kNames = {"CAP_CHOWN",
                                                                      "CAP_DAC_OVERRIDE",
                                                                      "CAP_DAC_READ_SEARCH",
                                                                      "CAP_FOWNER",
                                                                      "CAP_FSETID",
                                                                      "CAP_KILL",
                                                                      "CAP_SETGID",
                                                                      "CAP_SETUID",
                                                                      "CAP_SETPCAP",
                                                                      "CAP_LINUX_IMMUTABLE",
                                                                      "CAP_NET_BIND_SERVICE",
                                                                      "CAP_NET_BROADCAST",
                                                                      "CAP_NET_ADMIN",
                                                                      "CAP_NET_RAW",
                                                                      "CAP_IPC_LOCK",
                                                                      "CAP_IPC_OWNER",
                                                                      "CAP_SYS_MODULE",
                                                                      "CAP_SYS_RAWIO",
                                                                      "CAP_SYS_CHROOT",
                                                                      "CAP_SYS_PTRACE",
                                                                      "CAP_SYS_PACCT",
                                                                      "CAP_SYS_ADMIN",
                                                                      "CAP_SYS_BOOT",
                                                                      "CAP_SYS_NICE",
                                                                      "CAP_SYS_RESOURCE",
                                                                      "CAP_SYS_TIME",
                                                                      "CAP_SYS_TTY_CONFIG",
                                                                      "CAP_MKNOD",
                                                                      "CAP_LEASE",
                                                                      "CAP_AUDIT_WRITE",
                                                                      "CAP_AUDIT_CONTROL",
                                                                      "CAP_SETFCAP",
                                                                      "CAP_MAC_OVERRIDE",
                                                                      "CAP_MAC_ADMIN",
                                                                      "CAP_SYSLOG",
                                                                      "CAP_WAKE_ALARM",
                                                                      "CAP_BLOCK_SUSPEND",
                                                                      "CAP_AUDIT_READ",
                                                                      "CAP_PERFMON",
                                                                      "CAP_BPF",
                                                                      "CAP_CHECKPOINT_RESTORE"};

static_assert(CAP_LAST_CAP == kLastCapability, "capability table out of date");
static_assert(CAP_SYS_ADMIN == 21 && CAP_MKNOD == 27 && CAP_AUDIT_READ == 37 && CAP_BPF == 39);

}  // namespace

std::optional<int> capability_number(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

std::string_view capability_name(int number) {
  if (number < 0 || number > kLastCapability) return {};
  return kNames[static_cast<size_t>(number)];
}

const std::vector<std::string_view>& all_capability_names() {
  static const std::vector<std::string_view> names(kNames.begin(), kNames.end());
  return names;
}

Result<uint64_t> capability_mask(const std::vector<std::string>& names, std::string_view field) {
  uint64_t mask = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    auto n = capability_number(names[i]);
    if (!n) {
      return Error(ErrorKind::invalid_argument, std::string(field) + "[" + std::to_string(i) +
                                                    "]: unknown capability '" + names[i] + "'");
    }
    mask |= uint64_t{1} << *n;
  }
  return mask;
}

namespace {
std::vector<int> bits(uint64_t mask) {
  std::vector<int> out;
  for (int c = 0; c <= kLastCapability; ++c)
    if (mask & (uint64_t{1} << c)) out.push_back(c);
  return out;
}
}  // namespace

Result<CapabilityPlan> capability_plan(const std::optional<Capabilities>& caps) {
  CapabilityPlan plan;
  if (caps) {
    GANTRY_ASSIGN_OR_RETURN(plan.bounding,
                            capability_mask(caps->bounding, "process.capabilities.bounding"));
    GANTRY_ASSIGN_OR_RETURN(plan.effective,
                            capability_mask(caps->effective, "process.capabilities.effective"));
    GANTRY_ASSIGN_OR_RETURN(plan.permitted,
                            capability_mask(caps->permitted, "process.capabilities.permitted"));
    GANTRY_ASSIGN_OR_RETURN(plan.inheritable,
                            capability_mask(caps->inheritable, "process.capabilities.inheritable"));
    GANTRY_ASSIGN_OR_RETURN(plan.ambient,
                            capability_mask(caps->ambient, "process.capabilities.ambient"));
  }
  const uint64_t all = (uint64_t{1} << (kLastCapability + 1)) - 1;
  plan.bounding_drop = bits(all & ~plan.bounding);
  // The kernel raises an ambient capability only when it is permitted and inheritable
  // (capabilities(7)). runc's own default spec asks for ambient capabilities without
  // inheritable ones; runc warns and goes on, so those are listed apart instead of refused.
  uint64_t raisable = plan.ambient & plan.permitted & plan.inheritable;
  plan.ambient_raise = bits(raisable);
  plan.ambient_skipped = bits(plan.ambient & ~raisable);
  return plan;
}

}  // namespace gantry::runtime::oci::spec
