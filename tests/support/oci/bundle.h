// OCI bundles for tests: a scratch directory holding `rootfs/` (Debian's static busybox with
// its applet symlinks, and test_init as /bin/test_init) and a config.json built here with the
// defaults `runc spec` writes (terminal false), a cgroupsPath unique to the bundle, and knobs
// for what the tests vary. The process runs test_init with the given arguments
// (docs/test_init.md), so the model can predict what it does.
//
// Vocabulary: a bundle is the directory a runtime is pointed at with `--bundle`; its config is
// the JSON value written to config.json when the bundle is made (write_config rewrites it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/base/result.h"

namespace gantry::testing::oci {

struct MountSpec {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct RlimitSpec {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct BundleOptions {
  // test_init's arguments (the program is /bin/test_init); `command` replaces the whole argv.
  std::vector<std::string> test_init_args;
  std::vector<std::string> command;
  std::vector<std::string> namespaces = {"pid", "network", "ipc", "uts", "mount"};
  std::string hostname = "gantry-test";
  // Appended after runc's default mounts (proc, /dev tmpfs, devpts, shm, mqueue, sysfs, cgroup).
  std::vector<MountSpec> extra_mounts;
  std::vector<RlimitSpec> rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  // Every capability set (bounding, effective, permitted, ambient; inheritable left empty as
  // runc spec does); runc's default three when unset.
  std::optional<std::vector<std::string>> capabilities;
  bool readonly_root = true;
  bool no_new_privileges = true;
  std::optional<int64_t> memory_limit_bytes;
  std::optional<int64_t> pids_limit;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string cwd = "/";
  std::vector<std::string> extra_env;
  // Written as "hooks" when not null.
  nlohmann::json hooks;
};

class Bundle {
 public:
  // Builds the bundle in a new directory under $TMPDIR (or /tmp). test_init is found with
  // find_program("test_init", "GANTRY_TEST_INIT"); busybox at /bin/busybox.
  static Result<Bundle> make(const BundleOptions& options);

  Bundle(Bundle&&) noexcept;
  Bundle& operator=(Bundle&&) noexcept;
  ~Bundle();  // removes the directory (unmounting anything left below it)

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path rootfs() const { return path_ / "rootfs"; }
  nlohmann::json& config() { return config_; }
  const nlohmann::json& config() const { return config_; }
  // Writes config() to config.json again (after a test edits it).
  Result<void> write_config() const;

 private:
  Bundle() = default;
  std::filesystem::path path_;
  nlohmann::json config_;
};

// config.json for the options, with `cgroups_path` as linux.cgroupsPath.
nlohmann::json make_config(const BundleOptions& options, const std::string& cgroups_path);

// A cgroupsPath no other bundle of this process or another one uses: "/gantry-test-<pid>-<n>".
std::string unique_cgroups_path();

// The test_init program to copy into rootfs (GANTRY_TEST_INIT, $GANTRY_BIN/test_init, ...).
Result<std::filesystem::path> find_test_init();

}  // namespace gantry::testing::oci
