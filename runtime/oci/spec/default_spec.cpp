// default_spec_json: the config.json `gantry-oci spec` writes. The same document as
// `runc spec` of runc 1.1.5 (mounts, masked and readonly paths, capabilities, rlimits,
// namespaces), with ociVersion 1.1.0; the rootless variant changes what runc's does.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::oci::spec {

namespace {
using ojson = nlohmann::ordered_json;

ojson mount(const char* destination, const char* type, const char* source,
            std::vector<std::string> options) {
  ojson m;
  m["destination"] = destination;
  m["type"] = type;
  m["source"] = source;
  if (!options.empty()) m["options"] = options;
  return m;
}
}  // namespace

std::string default_spec_json(bool rootless) {
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  ojson process;
  process["terminal"] = true;
  process["user"] = {{"uid", 0}, {"gid", 0}};
  process["args"] = {"sh"};
  process["env"] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"};
  process["cwd"] = "/";
  process["capabilities"] = {
      {"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}};
  process["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}};
  process["noNewPrivileges"] = true;

  std::vector<std::string> devpts = {"nosuid",        "noexec",    "newinstance",
                                     "ptmxmode=0666", "mode=0620", "gid=5"};
  // In a user namespace, gid 5 is usually not mapped (runc drops the option too).
  if (rootless) devpts.pop_back();
  ojson mounts = ojson::array();
  mounts.push_back(mount("/proc", "proc", "proc", {}));
  mounts.push_back(
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts", devpts));
  mounts.push_back(
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  // A user namespace without its own network namespace may not mount sysfs: bind the host's.
  if (rootless) {
    mounts.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  }
  mounts.push_back(
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));

  ojson linux;
  if (rootless) {
    linux["uidMappings"] = {{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}}};
    linux["gidMappings"] = {{{"containerID", 0}, {"hostID", ::getegid()}, {"size", 1}}};
    linux["namespaces"] = {{{"type", "pid"}},
                           {{"type", "ipc"}},
                           {{"type", "uts"}},
                           {{"type", "mount"}},
                           {{"type", "user"}}};
  } else {
    linux["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
    linux["namespaces"] = {{{"type", "pid"}},
                           {{"type", "network"}},
                           {{"type", "ipc"}},
                           {{"type", "uts"}},
                           {{"type", "mount"}}};
  }
  linux["maskedPaths"] = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                          "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                          "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                          "/proc/scsi"};
  linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                            "/proc/sysrq-trigger"};

  ojson doc;
  doc["ociVersion"] = "1.1.0";
  doc["process"] = std::move(process);
  doc["root"] = {{"path", "rootfs"}, {"readonly", true}};
  doc["hostname"] = "runc";  // runc's default, kept so both give the same container
  doc["mounts"] = std::move(mounts);
  doc["linux"] = std::move(linux);
  return doc.dump(1, '\t') + "\n";
}

}  // namespace gantry::runtime::oci::spec
