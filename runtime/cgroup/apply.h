// Writing linux.resources into cgroup files: one function per layout and the translations they
// share. Each error names the config field, the file and the kernel's errno.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "model/base/result.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::cgroup {

// v1 (and hybrid: the unified map goes to the cgroup2 directory when there is one).
Result<void> apply_v1(const Manager& m, const oci::spec::Resources& r);
// v2: every file in the one directory.
Result<void> apply_v2(const std::filesystem::path& dir, const oci::spec::Resources& r);

// Writes the unified map ("memory.high" -> "1G") into dir; keys must be plain file names.
Result<void> apply_unified(const std::filesystem::path& dir,
                           const std::map<std::string, std::string>& unified);

// "c 1:3 rwm" / "a *:* rwm" for devices.allow / devices.deny; invalid_argument on a bad type or
// access (the message names linux.resources.devices[index]).
Result<std::string> device_rule_v1(const oci::spec::DeviceCgroupRule& rule, size_t index);

// True when the rules only allow or deny everything (no type, major, minor): what a v2 machine
// can do without an eBPF device program.
bool devices_trivial(const std::vector<oci::spec::DeviceCgroupRule>& rules);

// cpu.shares (2..262144) to cpu.weight (1..10000), the conversion runc and crun use.
uint64_t shares_to_weight(uint64_t shares);

// linux.resources.memory.swap (memory+swap, v1 meaning) to memory.swap.max (swap alone);
// nullopt when nothing is to be written; "max" for unlimited.
Result<std::optional<std::string>> swap_for_v2(std::optional<int64_t> limit,
                                               std::optional<int64_t> swap);

}  // namespace gantry::runtime::cgroup
