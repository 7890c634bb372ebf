// The token server's access list as a specification: who may do what to which repository.
// gantry-registry's `--token-acl FILE` (runtime/registry/server/auth.h, TokenRule) implements it;
// tests/property/registry/auth checks the two against each other.
//
// A list is a set of grants. A grant names who (one user, any authenticated user, or the
// anonymous client), a resource class ("repository" or "registry") with a name pattern (exact,
// a prefix ending in '*', or "*" for every name) and a set of actions ("pull", "push", "delete",
// or "*" for all of them, including "*" itself when a client asks for it). A requested action
// on a resource is allowed when at least one grant covers the client, the resource and the
// action; a token carries, per requested scope, exactly the allowed actions in the order asked.
// Anonymous is not "any authenticated user".
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gantry::model::registry {

struct AclGrant {
  enum class Who { user, any_user, anonymous };
  Who who = Who::anonymous;
  std::string user;  // for Who::user
  std::string resource_class = "repository";
  std::string name_pattern;
  std::set<std::string> actions;
};

// nullopt: the anonymous client.
using AclClient = std::optional<std::string>;

bool acl_allows(const std::vector<AclGrant>& grants, const AclClient& client,
                const std::string& resource_class, const std::string& name,
                const std::string& action);

std::vector<std::string> acl_grant(const std::vector<AclGrant>& grants, const AclClient& client,
                                   const std::string& resource_class, const std::string& name,
                                   const std::vector<std::string>& requested);

}  // namespace gantry::model::registry
