// Capabilities: the kernel's capability names ("CAP_CHOWN") and numbers (0..40), and the five
// sets of process.capabilities as 64-bit masks (bit N = capability N).
//
// This file only translates; the launcher (runtime/oci/launch) applies the plan in the child:
// drop `bounding_drop` with PR_CAPBSET_DROP, set effective/permitted/inheritable with capset,
// then raise each of `ambient` with PR_CAP_AMBIENT_RAISE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::oci::spec {

// The highest capability number this table knows (CAP_CHECKPOINT_RESTORE = 40).
inline constexpr int kLastCapability = 40;

// "CAP_CHOWN" -> 0; nullopt for a name that is not a capability (the spelling is exact, as
// the spec writes it: upper case with the CAP_ prefix).
std::optional<int> capability_number(std::string_view name);
// 0 -> "CAP_CHOWN"; empty for a number outside 0..kLastCapability.
std::string_view capability_name(int number);
// Every capability name, in number order.
const std::vector<std::string_view>& all_capability_names();

// The mask of a list of names; the error (invalid_argument) names the field and the entry:
// "process.capabilities.bounding[3]: unknown capability 'CAP_FOO'".
Result<uint64_t> capability_mask(const std::vector<std::string>& names, std::string_view field);

// What the launcher applies.
struct CapabilityPlan {
  uint64_t bounding = 0;  // the set to keep
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
  std::vector<int> bounding_drop;    // every known capability not in `bounding`, ascending
  std::vector<int> ambient_raise;    // the ambient capabilities that can be raised, ascending
  std::vector<int> ambient_skipped;  // ambient but not permitted+inheritable (runc skips them)

  // The capset(2) arguments for _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
  uint32_t effective_word(int i) const { return static_cast<uint32_t>(effective >> (32 * i)); }
  uint32_t permitted_word(int i) const { return static_cast<uint32_t>(permitted >> (32 * i)); }
  uint32_t inheritable_word(int i) const { return static_cast<uint32_t>(inheritable >> (32 * i)); }
};

// The plan for process.capabilities; an absent object means every set empty (and the whole
// bounding set dropped), as runc does. Errors name "process.capabilities.<set>[i]".
// An ambient capability that is not both permitted and inheritable cannot be raised by the
// kernel; it goes to ambient_skipped (runc warns and skips it; its default spec has such).
Result<CapabilityPlan> capability_plan(const std::optional<Capabilities>& caps);

}  // namespace gantry::runtime::oci::spec
