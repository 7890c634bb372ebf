// The OCI runtime configuration (runtime-spec 1.1, config.json) as typed values.
//
// parse_spec turns a config.json document into a Spec and rejects what gantry-oci cannot honour
// with an error that names the field by its JSON path ("linux.namespaces[2].type: unknown
// namespace type 'foo'"): a malformed document is invalid_argument, a well-formed field that we
// do not support (e.g. linux.intelRdt) is not_implemented. Unknown top-level or object keys are
// ignored, as the spec asks ("implementations MUST ignore unknown properties"), except where the
// spec defines a closed set (namespace types, rlimit names, capability names, seccomp actions).
//
// Field names follow the spec's JSON names in snake_case. Optional JSON values are
// std::optional; absent arrays are empty.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"

namespace gantry::runtime::oci::spec {

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  int resource = 0;  // RLIMIT_NOFILE, resolved by parse_spec
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Capability names as the spec spells them ("CAP_CHOWN"); parse_spec checks each name.
struct Capabilities {
  std::vector<std::string> bounding;
  std::vector<std::string> effective;
  std::vector<std::string> inheritable;
  std::vector<std::string> permitted;
  std::vector<std::string> ambient;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;  // absolute, required
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
};

struct Root {
  std::string path;  // as written; relative to the bundle when not absolute
  bool readonly = false;
};

struct Mount {
  std::string destination;  // absolute, inside the container
  std::string type;         // "proc", "bind", "tmpfs", ...; may be empty for binds
  std::string source;
  std::vector<std::string> options;  // as written; see mount_options.h for the translation
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

struct Hook {
  std::string path;  // absolute
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_seconds;
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated in the spec, still honoured (podman uses it)
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };
std::string_view to_string(NamespaceType type);     // the spec's spelling: "network", "mount", ...
int clone_flag(NamespaceType type);                 // CLONE_NEWPID, ...
std::string_view proc_ns_name(NamespaceType type);  // the /proc/<pid>/ns entry: "net", "mnt", ...

struct Namespace {
  NamespaceType type = NamespaceType::pid;
  std::string path;  // empty: create a new one; else join the namespace at this path
};

struct Device {
  char type = 'c';  // 'c', 'b', 'u' (unbuffered char) or 'p' (fifo)
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // "a", "c", "b"; empty means "a"
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // subset of "rwm"
};

struct MemoryResources {
  std::optional<int64_t> limit;  // bytes; -1 unlimited
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;  // "0-1"
  std::string mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  int64_t limit = 0;  // <= 0: unlimited
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::map<std::string, std::string> unified;  // cgroup v2 files, written as given
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // "SCMP_CMP_EQ", ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ERRNO", ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

// linux.personality: domain "LINUX" or "LINUX32" (no flags are defined by the spec).
struct Personality {
  std::string domain;
  std::vector<std::string> flags;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;
  std::vector<Device> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;  // "", "private", "rprivate", "slave", "rslave", "shared", ...
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::optional<Personality> personality;

  const Namespace* find_namespace(NamespaceType type) const;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;  // required by create/run; absent is legal in the spec
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

// Parses and validates a config.json document (see the header comment for the error rules).
Result<Spec> parse_spec(std::string_view json_text);

// Reads <bundle>/config.json and parses it; the error names the file.
Result<Spec> load_bundle_spec(const std::filesystem::path& bundle);

// Parses one process.json (the `exec --process` document: the spec's "process" object).
Result<Process> parse_process(std::string_view json_text);

// The rootfs path made absolute against the bundle.
std::filesystem::path rootfs_path(const Spec& spec, const std::filesystem::path& bundle);

// The config.json that `gantry-oci spec` writes (runc's default: sh in a busybox-like root,
// the default mounts, masked and readonly paths, the default capability set; with rootless,
// a user namespace mapping the caller's uid and gid).
std::string default_spec_json(bool rootless);

}  // namespace gantry::runtime::oci::spec
