// features_json: the runtime-spec features document from this library's tables, in the shape
// of `runc features` (runc 1.1.5): ociVersionMin/Max, hooks, mountOptions, linux.{namespaces,
// capabilities, cgroup, seccomp, apparmor, selinux}, annotations.
#include "runtime/oci/spec/features.h"

#include <seccomp.h>

#include <nlohmann/json.hpp>

#include "runtime/oci/spec/capabilities.h"
#include "runtime/oci/spec/mount_options.h"
#include "runtime/oci/spec/seccomp.h"

namespace gantry::runtime::oci::spec {

namespace {
template <class Names>
nlohmann::ordered_json list(const Names& names) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (auto n : names) a.push_back(std::string(n));
  return a;
}
}  // namespace

std::string features_json() {
  nlohmann::ordered_json j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = "1.1.0";
  j["hooks"] = {"prestart",       "createRuntime", "createContainer",
                "startContainer", "poststart",     "poststop"};
  j["mountOptions"] = list(known_mount_option_names());
  nlohmann::ordered_json linux;
  // The types parse_spec accepts (time namespaces are refused as not_implemented).
  linux["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
  linux["capabilities"] = list(all_capability_names());
  linux["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}};
  nlohmann::ordered_json seccomp;
  seccomp["enabled"] = true;
  seccomp["actions"] = list(seccomp_action_names());
  seccomp["operators"] = list(seccomp_operator_names());
  seccomp["archs"] = list(seccomp_arch_names());
  seccomp["knownFlags"] = list(seccomp_flag_names());
  seccomp["supportedFlags"] = list(seccomp_flag_names());
  linux["seccomp"] = std::move(seccomp);
  linux["apparmor"] = {{"enabled", false}};
  linux["selinux"] = {{"enabled", false}};
  j["linux"] = std::move(linux);
  const scmp_version* v = seccomp_version();
  j["annotations"] = {
      {"io.github.seccomp.libseccomp.version",
       std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro)},
      {"io.github.gantry.oci.version", "gantry-oci"}};
  return j.dump(4) + "\n";
}

}  // namespace gantry::runtime::oci::spec
