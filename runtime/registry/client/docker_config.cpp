#include "runtime/registry/client/docker_config.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/registry/client/auth_challenge.h"
#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::registry {

namespace {

using nlohmann::json;

constexpr std::string_view kLegacyHubKey = "https://index.docker.io/v1/";

// The registry a key of "auths" names: scheme and path dropped, Docker Hub's aliases folded.
std::string normalize_key(std::string_view key) {
  if (key.starts_with("https://"))
    key.remove_prefix(8);
  else if (key.starts_with("http://"))
    key.remove_prefix(7);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == kDockerHubEndpoint || key == "registry.hub.docker.com")
    return std::string(kDockerHub);
  return std::string(key);
}

// Where an entry for this registry is written.
std::string write_key(const std::string& registry) {
  return normalize_key(registry) == kDockerHub ? std::string(kLegacyHubKey) : registry;
}

// nullopt when the file does not exist.
Result<std::optional<json>> read_config(const std::string& path) {
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<json>();
    return errno_error(errno, "open docker config '" + path + "'");
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, sys::read_all(fd.get(), 16 << 20),
                              "read docker config '" + path + "'");
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorKind::invalid_argument, "docker config '" + path + "' is not a JSON object");
  if (j.contains("auths") && !j["auths"].is_object())
    return Error(ErrorKind::invalid_argument,
                 "docker config '" + path + "': \"auths\" is not an object");
  return std::optional<json>(std::move(j));
}

Result<void> write_config(const std::string& path, const json& j) {
  std::filesystem::path p(path);
  std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorKind::internal, "create '" + dir.string() + "': " + ec.message());
  return sys::write_file_atomic(dir, p.filename().string(), j.dump(1, '\t') + "\n", 0600);
}

}  // namespace

std::string docker_config_path(const std::string& path) {
  if (!path.empty()) return path;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d)
    return (std::filesystem::path(d) / "config.json").string();
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home && *home ? home : "/root") / ".docker" / "config.json")
      .string();
}

Result<std::optional<Credentials>> load_credentials(const std::string& registry,
                                                    const std::string& path) {
  std::string file = docker_config_path(path);
  GANTRY_ASSIGN_OR_RETURN(auto config, read_config(file));
  if (!config) return std::optional<Credentials>();
  const json& j = *config;
  std::string want = normalize_key(registry);
  if (j.contains("credHelpers") && j["credHelpers"].is_object())
    for (const auto& [key, helper] : j["credHelpers"].items())
      if (normalize_key(key) == want)
        return Error(ErrorKind::not_implemented,
                     "docker config '" + file + "' names a credential helper for '" + registry +
                         "' (credential helpers are not run)");
  const json* entry = nullptr;
  if (j.contains("auths"))
    for (const auto& [key, value] : j["auths"].items())
      if (normalize_key(key) == want) {
        entry = &value;
        if (key == registry) break;  // an exact key wins over a legacy form
      }
  bool has_inline = entry && entry->is_object() &&
                    ((entry->contains("auth") && (*entry)["auth"].is_string() &&
                      !(*entry)["auth"].get<std::string>().empty()) ||
                     entry->contains("identitytoken"));
  if (!has_inline) {
    if (j.contains("credsStore") && j["credsStore"].is_string())
      return Error(ErrorKind::not_implemented,
                   "docker config '" + file + "' keeps credentials in a store ('" +
                       j["credsStore"].get<std::string>() + "'; credential helpers are not run)");
    return std::optional<Credentials>();
  }
  Credentials c;
  std::string where = "docker config '" + file + "', entry '" + registry + "'";
  if (entry->contains("auth")) {
    if (!(*entry)["auth"].is_string())
      return Error(ErrorKind::invalid_argument, where + ": \"auth\" is not a string");
    auto decoded = base64_decode((*entry)["auth"].get<std::string>());
    if (!decoded) return Error(ErrorKind::invalid_argument, where + ": \"auth\" is not base64");
    size_t colon = decoded->find(':');
    if (colon == std::string::npos)
      return Error(ErrorKind::invalid_argument, where + ": \"auth\" is not user:password");
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  if (entry->contains("identitytoken")) {
    if (!(*entry)["identitytoken"].is_string())
      return Error(ErrorKind::invalid_argument, where + ": \"identitytoken\" is not a string");
    c.identity_token = (*entry)["identitytoken"].get<std::string>();
  }
  return std::optional<Credentials>(std::move(c));
}

Result<void> store_credentials(const std::string& registry, const Credentials& credentials,
                               const std::string& path) {
  std::string file = docker_config_path(path);
  GANTRY_ASSIGN_OR_RETURN(auto config, read_config(file));
  json j = config ? std::move(*config) : json::object();
  if (!j.contains("auths")) j["auths"] = json::object();
  // Drop the other spellings of the same registry, so that the new entry is the one read.
  std::string want = normalize_key(registry);
  std::vector<std::string> stale;
  for (const auto& [key, value] : j["auths"].items())
    if (normalize_key(key) == want) stale.push_back(key);
  for (const auto& k : stale) j["auths"].erase(k);
  json entry = json::object();
  entry["auth"] = base64_encode(credentials.username + ":" + credentials.password);
  if (!credentials.identity_token.empty()) entry["identitytoken"] = credentials.identity_token;
  j["auths"][write_key(registry)] = std::move(entry);
  return write_config(file, j);
}

Result<void> remove_credentials(const std::string& registry, const std::string& path) {
  std::string file = docker_config_path(path);
  GANTRY_ASSIGN_OR_RETURN(auto config, read_config(file));
  std::string want = normalize_key(registry);
  std::vector<std::string> found;
  if (config && config->contains("auths"))
    for (const auto& [key, value] : (*config)["auths"].items())
      if (normalize_key(key) == want) found.push_back(key);
  if (found.empty())
    return Error(ErrorKind::not_found,
                 "no credentials for '" + registry + "' in docker config '" + file + "'");
  for (const auto& k : found) (*config)["auths"].erase(k);
  return write_config(file, *config);
}

}  // namespace gantry::runtime::registry
