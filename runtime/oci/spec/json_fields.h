// Typed reads of nlohmann::json values with errors that name the JSON path
// ("process.rlimits[1].soft: must be a non-negative integer"). Internal to the spec library.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/base/result.h"

namespace gantry::runtime::oci::spec::detail {

using json = nlohmann::json;

inline Error invalid(const std::string& path, const std::string& message) {
  return Error(ErrorKind::invalid_argument, path + ": " + message);
}
inline Error unsupported(const std::string& path, const std::string& message) {
  return Error(ErrorKind::not_implemented, path + ": " + message);
}

inline std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
inline std::string item(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// The member `key` of an object; nullptr when absent or null (Go's encoding, which every
// producer of config.json uses, writes omitted values either way).
inline const json* find(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

inline Result<void> expect_object(const json& v, const std::string& path) {
  if (!v.is_object()) return invalid(path, "must be an object");
  return ok();
}
inline Result<void> expect_array(const json& v, const std::string& path) {
  if (!v.is_array()) return invalid(path, "must be an array");
  return ok();
}

inline Result<std::string> as_string(const json& v, const std::string& path) {
  if (!v.is_string()) return invalid(path, "must be a string");
  return v.get<std::string>();
}
inline Result<bool> as_bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) return invalid(path, "must be a boolean");
  return v.get<bool>();
}

inline Result<uint64_t> as_u64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return invalid(path, "must not be negative");
  return invalid(path, "must be a non-negative integer");
}
inline Result<int64_t> as_i64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return invalid(path, "out of range");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return invalid(path, "must be an integer");
}
inline Result<uint32_t> as_u32(const json& v, const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(uint64_t u, as_u64(v, path));
  if (u > std::numeric_limits<uint32_t>::max()) return invalid(path, "out of range");
  return static_cast<uint32_t>(u);
}
inline Result<int> as_int(const json& v, const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(int64_t i, as_i64(v, path));
  if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max())
    return invalid(path, "out of range");
  return static_cast<int>(i);
}

inline Result<std::vector<std::string>> as_strings(const json& v, const std::string& path) {
  GANTRY_TRY(expect_array(v, path));
  std::vector<std::string> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN(auto s, as_string(v[i], item(path, i)));
    out.push_back(std::move(s));
  }
  return out;
}

// Optional members: absent (or null) gives nullopt, a value of the wrong type an error.
template <class Read>
auto optional_member(const json& object, std::string_view key, const std::string& path, Read read)
    -> Result<
        std::optional<typename decltype(read(std::declval<const json&>(), path))::value_type>> {
  using T = typename decltype(read(std::declval<const json&>(), path))::value_type;
  const json* v = find(object, key);
  if (!v) return std::optional<T>();
  auto r = read(*v, child(path, key));
  if (!r) return std::move(r).error();
  return std::optional<T>(std::move(r).value());
}

template <class Read>
auto required_member(const json& object, std::string_view key, const std::string& path, Read read)
    -> decltype(read(std::declval<const json&>(), path)) {
  const json* v = find(object, key);
  if (!v) return invalid(child(path, key), "required");
  return read(*v, child(path, key));
}

}  // namespace gantry::runtime::oci::spec::detail
