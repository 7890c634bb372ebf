// Who may do what on gantry-registry: basic auth against an htpasswd file, or bearer tokens
// (the Docker token protocol), and the token server that gantry-registry can be for itself.
//
// Vocabulary:
//   htpasswd   lines `user:hash` with bcrypt hashes (`$2y$`, `$2b$`, `$2a$`, as `htpasswd -B`
//              writes); checked with crypt_r(3) from libcrypt. A verified Authorization value
//              is remembered, so bcrypt runs once per client, not per request.
//   access     what a request needs: a resource (`repository` + name, or `registry` +
//              `catalog`) and an action (`pull` for reads, `push` for writes, `delete`).
//   challenge  the 401's `WWW-Authenticate`: `Basic realm="gantry-registry"`, or
//              `Bearer realm="<realm>",service="<service>",scope="repository:<name>:pull,push"`.
//   token      a JWT signed by the token key: iss = issuer, aud = service, exp in the future,
//              and an `access` claim that grants the action on the resource.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "model/base/result.h"
#include "runtime/registry/server/http_message.h"
#include "runtime/registry/server/jwt.h"

namespace gantry::runtime::registry::server {

struct AuthOptions {
  std::filesystem::path htpasswd;  // empty: no basic auth (and no users for the token server)
  std::string token_realm;         // set: bearer tokens are required
  std::string token_service;
  std::string token_issuer;
  std::filesystem::path token_key;
  bool token_server = false;  // serve GET /token (needs a private token_key)
  std::chrono::seconds token_ttl{300};
  // The token server's access rules (a JSON file, see TokenRule); empty: every client that
  // passes the htpasswd check (everyone, when there is no htpasswd) gets what it asks for.
  std::filesystem::path token_acl;
};

// One rule of the token server's access list, a JSON array of
//   {"account": "alice" | "*" (any authenticated user) | "" (anonymous),
//    "type": "repository" (default) | "registry",
//    "name": "app" | "team/*" (a prefix) | "*",
//    "actions": ["pull", "push", "delete"] | ["*"]}
// A token grants, per requested scope, the requested actions that some rule matching the
// account, type and name allows; with a list, a scope no rule matches is granted nothing
// (the token is still issued, as the Docker token protocol says; the registry then answers
// 401 insufficient_scope).
struct TokenRule {
  std::string account;
  std::string type = "repository";
  std::string name;
  std::vector<std::string> actions;
};
Result<std::vector<TokenRule>> parse_token_acl(std::string_view json_text);
// The actions of `requested` that the rules give `account` on type:name.
std::vector<std::string> granted_actions(const std::vector<TokenRule>& rules,
                                         const std::string& account, const std::string& type,
                                         const std::string& name,
                                         const std::vector<std::string>& requested);

struct Access {
  std::string type = "repository";  // or "registry"
  std::string name;                 // repository name, or "catalog"
  std::string action;               // "pull", "push", "delete", "*"
};

// Parsed htpasswd: user -> hash.
Result<std::map<std::string, std::string>> parse_htpasswd(std::string_view text);
// True when password hashes to `hash` (bcrypt or any scheme crypt_r knows).
bool password_matches(const std::string& password, const std::string& hash);

class Authenticator {
 public:
  // nullptr when options ask for no authentication.
  static Result<std::unique_ptr<Authenticator>> create(const AuthOptions& options);

  // nullopt when the request may go on; else the 401 answer (with its challenge and an
  // UNAUTHORIZED error body). `need` nullopt: any authenticated client (GET /v2/).
  std::optional<HttpResponse> check(std::string_view authorization,
                                    const std::optional<Access>& need);

  bool serves_tokens() const { return options_.token_server; }
  // GET /token?service=&scope=&account=: checks basic credentials against the htpasswd (when
  // there is one; else the client is anonymous), grants per the access rules (TokenRule) and
  // answers {"token","access_token","expires_in","issued_at"}.
  HttpResponse issue_token(std::string_view authorization, std::string_view query);

 private:
  explicit Authenticator(AuthOptions options) : options_(std::move(options)) {}
  // The user of a valid `Basic` authorization, or nullopt.
  std::optional<std::string> basic_user(std::string_view authorization);
  std::optional<HttpResponse> check_bearer(std::string_view authorization,
                                           const std::optional<Access>& need);
  HttpResponse challenge(const std::optional<Access>& need, std::string_view why,
                         bool insufficient_scope) const;

  AuthOptions options_;
  std::map<std::string, std::string> users_;
  std::optional<JwtKey> key_;
  std::optional<std::vector<TokenRule>> acl_;
  std::mutex mu_;
  std::unordered_set<std::string> verified_;  // Authorization values that passed bcrypt
};

}  // namespace gantry::runtime::registry::server
