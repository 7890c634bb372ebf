// Reading and writing cgroup control files. A control file takes its value in one write; the
// kernel's answer (errno) is the verdict on the value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::cgroup {

// Writes value to path. Errors keep the errno's kind and name the file and value.
Result<void> write_control(const std::filesystem::path& path, std::string_view value);

// Writes a limit named by a config field. The kind says whose fault it is: a missing file is
// not_implemented (the kernel or layout has no such knob), EACCES/EROFS permission_denied, any
// other refusal invalid_argument; the message names field, file, value and errno.
Result<void> write_limit(const std::filesystem::path& dir, const std::string& file,
                         const std::string& value, const std::string& field);

// The file's content without the trailing newline; not_found when missing.
Result<std::string> read_trimmed(const std::filesystem::path& path);

// A number file ("max" is UINT64_MAX); nullopt when the file is missing or not a number.
std::optional<uint64_t> read_u64(const std::filesystem::path& path);

// "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat, oom_control).
std::map<std::string, uint64_t> read_keyed(const std::filesystem::path& path);

}  // namespace gantry::runtime::cgroup
