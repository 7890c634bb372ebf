// gantry-registry's token access list against its model (model/registry/token_acl.h): random
// lists of grants, written as the JSON file `--token-acl` reads and parsed by the server's
// parser, and random token requests (client, resource, requested actions) give the same granted
// actions from runtime/registry/server/auth.h's granted_actions as from the model. A second
// property: a rule with one field broken is refused by the parser, naming the rule.
#include <rapidcheck.h>
#include <rapidcheck/boost_test.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "model/registry/token_acl.h"
#include "runtime/registry/server/auth.h"

using gantry::model::registry::AclClient;
using gantry::model::registry::AclGrant;
namespace server = gantry::runtime::registry::server;

namespace {

const std::vector<std::string> kNames = {"app", "apps", "team/web", "team/db", "team", "other/x"};
const std::vector<std::string> kPatterns = {"app",  "apps", "team/web", "team/*", "team*",
                                            "app*", "*",    "other/x",  "catalog"};
const std::vector<std::string> kActions = {"pull", "push", "delete", "*"};

rc::Gen<AclGrant> gen_grant() {
  return rc::gen::exec([] {
    AclGrant g;
    g.who =
        *rc::gen::element(AclGrant::Who::user, AclGrant::Who::any_user, AclGrant::Who::anonymous);
    if (g.who == AclGrant::Who::user) g.user = *rc::gen::element<std::string>("alice", "bob");
    g.resource_class = *rc::gen::element<std::string>("repository", "repository", "registry");
    g.name_pattern = *rc::gen::elementOf(kPatterns);
    auto actions = *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange<size_t>(0, 4),
                                                                 rc::gen::elementOf(kActions));
    g.actions.insert(actions.begin(), actions.end());
    return g;
  });
}

std::string account_of(const AclGrant& g) {
  switch (g.who) {
    case AclGrant::Who::user:
      return g.user;
    case AclGrant::Who::any_user:
      return "*";
    case AclGrant::Who::anonymous:
      return "";
  }
  return "";
}

// The file `--token-acl` reads; "type" left out now and then (it defaults to repository).
nlohmann::json to_json(const std::vector<AclGrant>& grants, const std::vector<bool>& omit_type) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < grants.size(); ++i) {
    const AclGrant& g = grants[i];
    nlohmann::json rule = {
        {"account", account_of(g)},
        {"name", g.name_pattern},
        {"actions", std::vector<std::string>(g.actions.begin(), g.actions.end())}};
    if (!(omit_type[i] && g.resource_class == "repository")) rule["type"] = g.resource_class;
    list.push_back(std::move(rule));
  }
  return list;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token_acl_vs_model)

RC_BOOST_PROP(the_server_grants_what_the_model_allows, ()) {
  auto grants =
      *rc::gen::container<std::vector<AclGrant>>(*rc::gen::inRange<size_t>(0, 6), gen_grant());
  auto omit = *rc::gen::container<std::vector<bool>>(grants.size(), rc::gen::arbitrary<bool>());
  std::string text = to_json(grants, omit).dump();
  auto rules = server::parse_token_acl(text);
  RC_ASSERT(rules.has_value());
  for (int q = 0; q < 8; ++q) {
    AclClient client = *rc::gen::element<AclClient>(std::nullopt, std::string("alice"),
                                                    std::string("bob"), std::string("carol"));
    std::string type = *rc::gen::element<std::string>("repository", "registry");
    std::string name = type == "registry" ? "catalog" : *rc::gen::elementOf(kNames);
    auto requested = *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange<size_t>(0, 4),
                                                                   rc::gen::elementOf(kActions));
    auto want = gantry::model::registry::acl_grant(grants, client, type, name, requested);
    auto got = server::granted_actions(*rules, client.value_or(""), type, name, requested);
    if (want != got) {
      RC_FAIL("acl " + text + ", client " + client.value_or("(anonymous)") + ", " + type + ":" +
              name + " asking " + nlohmann::json(requested).dump() + ": model grants " +
              nlohmann::json(want).dump() + ", server " + nlohmann::json(got).dump());
    }
  }
}

RC_BOOST_PROP(a_broken_rule_is_refused_naming_it, ()) {
  auto grants =
      *rc::gen::container<std::vector<AclGrant>>(*rc::gen::inRange<size_t>(1, 5), gen_grant());
  auto json = to_json(grants, std::vector<bool>(grants.size(), false));
  size_t at = *rc::gen::inRange<size_t>(0, grants.size());
  int how = *rc::gen::inRange(0, 6);
  auto& rule = json[at];
  switch (how) {
    case 0:
      rule["actions"] = {"pull", "write"};
      break;
    case 1:
      rule.erase("account");
      break;
    case 2:
      rule["name"] = "";
      break;
    case 3:
      rule["type"] = "repo";
      break;
    case 4:
      rule["colour"] = "blue";
      break;
    default:
      rule["actions"] = "pull";
      break;
  }
  auto rules = server::parse_token_acl(json.dump());
  RC_ASSERT(!rules.has_value());
  RC_ASSERT(rules.error().to_string().find("rule " + std::to_string(at)) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
