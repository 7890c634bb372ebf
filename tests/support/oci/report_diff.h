// Comparing two `test_init report`s (docs/test_init.md) taken in the same bundle under two
// runtimes: normalize away what legitimately differs (ppid, pipe inode numbers, bind sources
// and device numbers, peer-group ids, cgroup paths), then list every difference by path.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gantry::testing::oci {

// The comparable part of a report: mounts keyed by mount point ("/dev/pts", a second mount on
// one point "/x#2") without source, root and propagation; fds as their kind ("pipe", "socket",
// "file" outside /dev,
// "/dev/null", a path); cgroup without membership; ppid dropped.
nlohmann::json normalize_report(const nlohmann::json& report);

// One line per difference: "/mounts/~1proc/options: runc [...] vs gantry-oci [...]" (JSON
// pointer paths); empty when equal.
std::vector<std::string> report_differences(const nlohmann::json& a, const std::string& a_name,
                                            const nlohmann::json& b, const std::string& b_name);

}  // namespace gantry::testing::oci
