#include "runtime/cgroup/apply.h"

#include <cerrno>

#include "runtime/cgroup/files.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;
namespace spec = oci::spec;

Result<void> Manager::apply(const spec::Resources& r) {
  if (layout_ == Layout::v2) {
    auto dir = directory("unified");
    if (!dir) return Error(ErrorKind::not_found, "cgroup v2 directory missing");
    return apply_v2(*dir, r);
  }
  return apply_v1(*this, r);
}

Result<void> apply_unified(const fs::path& dir, const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) {
    std::string field = "linux.resources.unified[\"" + key + "\"]";
    if (key.empty() || key.find('/') != std::string::npos || key.front() == '.' ||
        key.find('.') == std::string::npos) {
      return Error(ErrorKind::invalid_argument,
                   field + ": not a cgroup file name (expected <controller>.<file>)");
    }
    GANTRY_TRY(write_limit(dir, key, value, field));
  }
  return ok();
}

Result<std::string> device_rule_v1(const spec::DeviceCgroupRule& rule, size_t index) {
  std::string field = "linux.resources.devices[" + std::to_string(index) + "]";
  std::string type = rule.type.empty() ? "a" : rule.type;
  if (type != "a" && type != "b" && type != "c") {
    return Error(ErrorKind::invalid_argument,
                 field + ".type: '" + rule.type + "' is not one of a, b, c");
  }
  std::string access = rule.access.empty() ? "rwm" : rule.access;
  for (char c : access) {
    if (c != 'r' && c != 'w' && c != 'm') {
      return Error(ErrorKind::invalid_argument,
                   field + ".access: '" + rule.access + "' is not a subset of rwm");
    }
  }
  auto number = [](const std::optional<int64_t>& v) -> Result<std::string> {
    if (!v || *v == -1) return std::string("*");
    if (*v < 0) return Error(ErrorKind::invalid_argument, "negative device number");
    return std::to_string(*v);
  };
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string major, number(rule.major), field + ".major");
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string minor, number(rule.minor), field + ".minor");
  return type + " " + major + ":" + minor + " " + access;
}

bool devices_trivial(const std::vector<spec::DeviceCgroupRule>& rules) {
  for (const auto& r : rules) {
    bool all = (r.type.empty() || r.type == "a") && (!r.major || *r.major == -1) &&
               (!r.minor || *r.minor == -1);
    if (!all) return false;
  }
  return true;
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

Result<std::optional<std::string>> swap_for_v2(std::optional<int64_t> limit,
                                               std::optional<int64_t> swap) {
  const std::string field = "linux.resources.memory.swap";
  if (!swap || *swap == 0) return std::optional<std::string>();
  if (*swap == -1) return std::optional<std::string>("max");
  if (*swap < -1) return Error(ErrorKind::invalid_argument, field + ": negative");
  if (!limit || *limit == 0 || *limit == -1) {
    return Error(ErrorKind::invalid_argument,
                 field +
                     ": a swap limit needs a memory limit on cgroup v2 (memory.swap.max is "
                     "swap alone, computed as swap - limit)");
  }
  if (*swap < *limit) {
    return Error(ErrorKind::invalid_argument,
                 field + ": " + std::to_string(*swap) + " is below linux.resources.memory.limit " +
                     std::to_string(*limit) + " (swap counts memory plus swap)");
  }
  return std::optional<std::string>(std::to_string(*swap - *limit));
}

}  // namespace gantry::runtime::cgroup
