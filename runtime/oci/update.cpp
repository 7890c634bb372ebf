// `update [--resources FILE|-] [--memory N ...] ID`: new limits for a container's cgroup. The
// document is the spec's linux.resources object (runc's --resources format); runc's flags are
// turned into the same document. The limits are written through the cgroup Manager, then merged
// into the stored config, so later invocations see them.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>

#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

namespace {

enum class FlagKind { size, int64, uint64, text };

struct FlagTarget {
  const char* flag;
  const char* group;  // "memory", "cpu", "pids"
  const char* key;    // the spec's name in that group
  FlagKind kind;
};

constexpr FlagTarget kFlags[] = {
    {"memory", "memory", "limit", FlagKind::size},
    {"memory-reservation", "memory", "reservation", FlagKind::size},
    {"memory-swap", "memory", "swap", FlagKind::size},
    {"kernel-memory", "memory", "kernel", FlagKind::size},
    {"kernel-memory-tcp", "memory", "kernelTCP", FlagKind::size},
    {"cpu-period", "cpu", "period", FlagKind::uint64},
    {"cpu-quota", "cpu", "quota", FlagKind::int64},
    {"cpu-share", "cpu", "shares", FlagKind::uint64},
    {"cpu-shares", "cpu", "shares", FlagKind::uint64},
    {"cpu-rt-period", "cpu", "realtimePeriod", FlagKind::uint64},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", FlagKind::int64},
    {"cpuset-cpus", "cpu", "cpus", FlagKind::text},
    {"cpuset-mems", "cpu", "mems", FlagKind::text},
    {"pids-limit", "pids", "limit", FlagKind::int64},
};

Result<int64_t> parse_int(const std::string& flag, const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Error(ErrorKind::invalid_argument, "--" + flag + ": '" + text + "' is not a number");
  }
  return v;
}

Result<std::string> read_resources(const std::string& path) {
  sys::UniqueFd owned;
  int fd = STDIN_FILENO;
  if (path != "-") {
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return errno_error(errno, "--resources: open '" + path + "'");
    fd = owned.get();
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, sys::read_all(fd, 1 << 20),
                              "--resources: read '" + path + "'");
  return text;
}

// The typed resources of a document, validated by the config parser.
Result<spec::Resources> typed_resources(const nlohmann::json& doc) {
  nlohmann::json config = {{"ociVersion", std::string(kOciVersion)},
                           {"root", {{"path", "rootfs"}}},
                           {"linux", {{"resources", doc}}}};
  GANTRY_ASSIGN_OR_RETURN(spec::Spec s, spec::parse_spec(config.dump()));
  return s.linux.resources.value_or(spec::Resources{});
}

}  // namespace

Result<nlohmann::json> update_document(const UpdateOptions& o) {
  nlohmann::json doc = nlohmann::json::object();
  if (!o.resources_file.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::string text, read_resources(o.resources_file));
    doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Error(ErrorKind::invalid_argument,
                   "--resources '" + o.resources_file + "': not a JSON object");
    }
  }
  for (const auto& [flag, value] : o.flags) {
    const FlagTarget* target = nullptr;
    for (const auto& t : kFlags) {
      if (flag == t.flag) target = &t;
    }
    if (!target) {
      return Error(ErrorKind::not_implemented, "--" + flag + ": not supported by gantry-oci");
    }
    auto& slot = doc[target->group][target->key];
    switch (target->kind) {
      case FlagKind::size: {
        GANTRY_ASSIGN_OR_RETURN_CTX(int64_t v, parse_size_bytes(value), "--" + flag);
        slot = v;
        break;
      }
      case FlagKind::int64: {
        GANTRY_ASSIGN_OR_RETURN(int64_t v, parse_int(flag, value));
        slot = v;
        break;
      }
      case FlagKind::uint64: {
        GANTRY_ASSIGN_OR_RETURN(int64_t v, parse_int(flag, value));
        if (v < 0) return Error(ErrorKind::invalid_argument, "--" + flag + ": must be >= 0");
        slot = static_cast<uint64_t>(v);
        break;
      }
      case FlagKind::text:
        slot = value;
        break;
    }
  }
  return doc;
}

Result<void> update(StateStore& store, const UpdateOptions& o) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json doc, update_document(o));
  GANTRY_ASSIGN_OR_RETURN_CTX(spec::Resources resources, typed_resources(doc), "update " + o.id);
  GANTRY_ASSIGN_OR_RETURN(auto held, store.lock_and_load(o.id));
  const Container& c = held.second;
  if (!api::can_update(c.state)) return api::illegal_transition("update", o.id, c.state);
  GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
  GANTRY_TRY_CTX(m.apply(resources), "update " + o.id);

  GANTRY_ASSIGN_OR_RETURN(std::string config_text, store.read_config(o.id));
  auto config = nlohmann::json::parse(config_text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return Error(ErrorKind::internal, "stored config of " + o.id + " is not a JSON object");
  }
  config["linux"]["resources"].merge_patch(doc);
  GANTRY_TRY(store.save_config(o.id, config.dump()));
  log_debug("updated " + o.id + ": " + doc.dump());
  return ok();
}

}  // namespace gantry::runtime::oci
