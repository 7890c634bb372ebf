#include "model/registry/token_acl.h"

#include <algorithm>

namespace gantry::model::registry {

namespace {

bool covers_client(const AclGrant& g, const AclClient& client) {
  switch (g.who) {
    case AclGrant::Who::anonymous:
      return !client.has_value();
    case AclGrant::Who::any_user:
      return client.has_value();
    case AclGrant::Who::user:
      return client.has_value() && *client == g.user;
  }
  return false;
}

bool covers_name(const std::string& pattern, const std::string& name) {
  if (pattern == "*") return true;
  if (pattern.size() > 1 && pattern.back() == '*') {
    std::string_view prefix(pattern.data(), pattern.size() - 1);
    return std::string_view(name).starts_with(prefix);
  }
  return pattern == name;
}

}  // namespace

bool acl_allows(const std::vector<AclGrant>& grants, const AclClient& client,
                const std::string& resource_class, const std::string& name,
                const std::string& action) {
  return std::any_of(grants.begin(), grants.end(), [&](const AclGrant& g) {
    return covers_client(g, client) && g.resource_class == resource_class &&
           covers_name(g.name_pattern, name) &&
           (g.actions.contains("*") || g.actions.contains(action));
  });
}

std::vector<std::string> acl_grant(const std::vector<AclGrant>& grants, const AclClient& client,
                                   const std::string& resource_class, const std::string& name,
                                   const std::vector<std::string>& requested) {
  std::vector<std::string> out;
  std::copy_if(
      requested.begin(), requested.end(), std::back_inserter(out),
      [&](const std::string& a) { return acl_allows(grants, client, resource_class, name, a); });
  return out;
}

}  // namespace gantry::model::registry
