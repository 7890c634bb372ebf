#include "runtime/registry/server/auth.h"

#include <crypt.h>
#include <openssl/rand.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "model/api/registry_http.h"

namespace gantry::runtime::registry::server {

namespace {

using Code = api::RegistryErrorCode;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The credentials part of "<scheme> <credentials>" when the scheme matches (case-insensitive).
std::optional<std::string_view> credentials(std::string_view authorization,
                                            std::string_view scheme) {
  authorization = trim(authorization);
  if (authorization.size() <= scheme.size() + 1) return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(scheme[i])))
      return std::nullopt;
  if (authorization[scheme.size()] != ' ') return std::nullopt;
  return trim(authorization.substr(scheme.size() + 1));
}

// Standard base64 (with padding) as Basic uses it.
std::optional<std::string> base64_decode(std::string_view text) {
  std::string url(text);
  for (char& c : url) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return base64url_decode(url);
}

bool grants(const nlohmann::json& claims, const Access& need) {
  auto access = claims.find("access");
  if (access == claims.end() || !access->is_array()) return false;
  for (const auto& entry : *access) {
    if (!entry.is_object()) continue;
    if (entry.value("type", "") != need.type || entry.value("name", "") != need.name) continue;
    auto actions = entry.find("actions");
    if (actions == entry.end() || !actions->is_array()) continue;
    for (const auto& a : *actions)
      if (a.is_string() && (a == need.action || a == "*")) return true;
  }
  return false;
}

bool audience_matches(const nlohmann::json& claims, const std::string& service) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) return false;
  if (aud->is_string()) return *aud == service;
  if (aud->is_array())
    for (const auto& a : *aud)
      if (a.is_string() && a == service) return true;
  return false;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string scope_of(const Access& a) {
  if (a.type == "registry") return "registry:catalog:*";
  // Clients ask for what the challenge names; pull and push cover a whole push or pull.
  std::string actions = a.action == "delete" ? "delete" : "pull,push";
  return a.type + ":" + a.name + ":" + actions;
}

// Docker's client reads issued_at as an RFC 3339 time.
std::string rfc3339(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  tm parts{};
  ::gmtime_r(&t, &parts);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buf;
}

}  // namespace

Result<std::map<std::string, std::string>> parse_htpasswd(std::string_view text) {
  std::map<std::string, std::string> users;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == line.size())
      return Error(ErrorKind::invalid_argument,
                   "htpasswd line " + std::to_string(line_no) + ": expected user:hash");
    users[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return users;
}

bool password_matches(const std::string& password, const std::string& hash) {
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  const char* out = ::crypt_r(password.c_str(), hash.c_str(), &data);
  if (out == nullptr || out[0] == '*') return false;
  size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

namespace {
// The whole of a small configuration file; not_found naming `what` and the path.
Result<std::string> read_text_file(const std::filesystem::path& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return Error(ErrorKind::not_found, "cannot read " + what + " " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::create(const AuthOptions& options) {
  if (!options.token_acl.empty() && !options.token_server)
    return Error(ErrorKind::invalid_argument, "--token-acl needs --token-server");
  if (options.htpasswd.empty() && options.token_realm.empty() && !options.token_server)
    return std::unique_ptr<Authenticator>();
  std::unique_ptr<Authenticator> a(new Authenticator(options));
  if (!options.htpasswd.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::string text, read_text_file(options.htpasswd, "htpasswd"));
    auto users = parse_htpasswd(text);
    if (!users) return users.error().with_context(options.htpasswd.string());
    a->users_ = std::move(*users);
  }
  if (!options.token_realm.empty() || options.token_server) {
    if (options.token_key.empty())
      return Error(ErrorKind::invalid_argument, "--token-key is required for token auth");
    if (options.token_service.empty() || options.token_issuer.empty())
      return Error(ErrorKind::invalid_argument,
                   "--token-service and --token-issuer are required for token auth");
    auto key = JwtKey::load(options.token_key);
    if (!key) return key.error();
    if (options.token_server && !key->can_sign())
      return Error(ErrorKind::invalid_argument,
                   "--token-server needs a private --token-key to sign tokens");
    a->key_ = std::move(*key);
  }
  if (!options.token_acl.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::string text, read_text_file(options.token_acl, "token ACL"));
    auto rules = parse_token_acl(text);
    if (!rules) return rules.error().with_context(options.token_acl.string());
    a->acl_ = std::move(*rules);
  }
  return a;
}

Result<std::vector<TokenRule>> parse_token_acl(std::string_view json_text) {
  auto json = nlohmann::json::parse(json_text, nullptr, false);
  if (!json.is_array())
    return Error(ErrorKind::invalid_argument, "token ACL: expected a JSON array of rules");
  std::vector<TokenRule> rules;
  for (size_t i = 0; i < json.size(); ++i) {
    const auto& j = json[i];
    std::string where = "token ACL rule " + std::to_string(i);
    if (!j.is_object()) return Error(ErrorKind::invalid_argument, where + ": not an object");
    TokenRule rule;
    for (const auto& [key, value] : j.items()) {
      if (key == "account" || key == "type" || key == "name") {
        if (!value.is_string())
          return Error(ErrorKind::invalid_argument, where + ": '" + key + "' is not a string");
        (key == "account" ? rule.account
         : key == "type"  ? rule.type
                          : rule.name) = value.get<std::string>();
      } else if (key == "actions") {
        if (!value.is_array())
          return Error(ErrorKind::invalid_argument, where + ": 'actions' is not an array");
        for (const auto& a : value) {
          if (!a.is_string())
            return Error(ErrorKind::invalid_argument, where + ": an action is not a string");
          std::string action = a.get<std::string>();
          if (action != "pull" && action != "push" && action != "delete" && action != "*")
            return Error(ErrorKind::invalid_argument,
                         where + ": unknown action '" + action + "' (pull, push, delete, *)");
          rule.actions.push_back(std::move(action));
        }
      } else {
        return Error(ErrorKind::invalid_argument, where + ": unknown key '" + key + "'");
      }
    }
    if (rule.type != "repository" && rule.type != "registry")
      return Error(ErrorKind::invalid_argument,
                   where + ": type '" + rule.type + "' (repository or registry)");
    if (rule.name.empty())
      return Error(ErrorKind::invalid_argument, where + ": 'name' is missing or empty");
    if (!j.contains("account"))
      return Error(ErrorKind::invalid_argument,
                   where + ": 'account' is missing (a user, \"*\" or \"\" for anonymous)");
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::vector<std::string> granted_actions(const std::vector<TokenRule>& rules,
                                         const std::string& account, const std::string& type,
                                         const std::string& name,
                                         const std::vector<std::string>& requested) {
  auto name_matches = [&](const std::string& pattern) {
    if (pattern == "*") return true;
    if (pattern.size() > 1 && pattern.back() == '*')
      return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    return pattern == name;
  };
  std::vector<std::string> out;
  for (const auto& want : requested) {
    bool allowed = false;
    for (const auto& r : rules) {
      bool who = r.account == account || (r.account == "*" && !account.empty());
      if (!who || r.type != type || !name_matches(r.name)) continue;
      for (const auto& a : r.actions)
        if (a == "*" || a == want) allowed = true;
      if (allowed) break;
    }
    if (allowed) out.push_back(want);
  }
  return out;
}

std::optional<std::string> Authenticator::basic_user(std::string_view authorization) {
  auto cred = credentials(authorization, "Basic");
  if (!cred) return std::nullopt;
  std::string key(*cred);
  auto decoded = base64_decode(*cred);
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string user = decoded->substr(0, colon);
  {
    std::lock_guard lock(mu_);
    if (verified_.contains(key)) return user;
  }
  auto it = users_.find(user);
  if (it == users_.end() || !password_matches(decoded->substr(colon + 1), it->second))
    return std::nullopt;
  std::lock_guard lock(mu_);
  if (verified_.size() > 4096) verified_.clear();  // bounded: a flood of users re-verifies
  verified_.insert(std::move(key));
  return user;
}

HttpResponse Authenticator::challenge(const std::optional<Access>& need, std::string_view why,
                                      bool insufficient_scope) const {
  HttpResponse r = error_response(api::RegistryError(Code::unauthorized, std::string(why)));
  if (options_.token_realm.empty()) {
    r.set("WWW-Authenticate", "Basic realm=\"gantry-registry\"");
    return r;
  }
  std::string value =
      "Bearer realm=\"" + options_.token_realm + "\",service=\"" + options_.token_service + "\"";
  if (need) value += ",scope=\"" + scope_of(*need) + "\"";
  if (insufficient_scope) value += ",error=\"insufficient_scope\"";
  r.set("WWW-Authenticate", std::move(value));
  return r;
}

std::optional<HttpResponse> Authenticator::check(std::string_view authorization,
                                                 const std::optional<Access>& need) {
  if (!options_.token_realm.empty()) return check_bearer(authorization, need);
  if (authorization.empty()) return challenge(need, "authentication required", false);
  if (!basic_user(authorization)) return challenge(need, "invalid username or password", false);
  return std::nullopt;
}

std::optional<HttpResponse> Authenticator::check_bearer(std::string_view authorization,
                                                        const std::optional<Access>& need) {
  auto token = credentials(authorization, "Bearer");
  if (!token) return challenge(need, "bearer token required", false);
  auto claims = key_->verify(*token);
  if (!claims) return challenge(need, claims.error().message(), false);
  int64_t now = now_seconds();
  constexpr int64_t kLeewaySeconds = 60;
  auto exp = claims->find("exp");
  if (exp == claims->end() || !exp->is_number() || exp->get<int64_t>() + kLeewaySeconds < now)
    return challenge(need, "token expired", false);
  if (auto nbf = claims->find("nbf");
      nbf != claims->end() && nbf->is_number() && nbf->get<int64_t>() > now + kLeewaySeconds)
    return challenge(need, "token not yet valid", false);
  if (claims->value("iss", "") != options_.token_issuer)
    return challenge(need, "token issuer is not " + options_.token_issuer, false);
  if (!audience_matches(*claims, options_.token_service))
    return challenge(need, "token audience is not " + options_.token_service, false);
  if (need && !grants(*claims, *need))
    return challenge(need, "token does not grant " + need->action + " on " + need->name, true);
  return std::nullopt;
}

HttpResponse Authenticator::issue_token(std::string_view authorization, std::string_view query) {
  auto params = parse_query(query);
  std::string subject;
  if (!users_.empty()) {
    auto user = basic_user(authorization);
    if (!user) {
      HttpResponse r =
          error_response(api::RegistryError(Code::unauthorized, "invalid username or password"));
      r.set("WWW-Authenticate", "Basic realm=\"gantry-registry\"");
      return r;
    }
    subject = *user;
  }
  auto service = query_param(params, "service");
  if (service && *service != options_.token_service)
    return error_response(
        api::RegistryError(Code::denied, "this token server serves " + options_.token_service));
  // Without an access list every client that got here gets what it asks for; with one, what
  // the rules give its account.
  nlohmann::json access = nlohmann::json::array();
  for (const auto& [k, v] : params) {
    if (k != "scope") continue;
    // scope = type:name:actions, the name may hold ':' (a port) so split at the first and last.
    size_t first = v.find(':'), last = v.rfind(':');
    if (first == std::string::npos || first == last) continue;
    std::vector<std::string> requested;
    std::string_view list = std::string_view(v).substr(last + 1);
    while (!list.empty()) {
      size_t comma = list.find(',');
      if (!list.substr(0, comma).empty()) requested.emplace_back(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    std::string type = v.substr(0, first), name = v.substr(first + 1, last - first - 1);
    if (acl_) requested = granted_actions(*acl_, subject, type, name, requested);
    access.push_back({{"type", type}, {"name", name}, {"actions", requested}});
  }
  int64_t now = now_seconds();
  unsigned char nonce[12];
  RAND_bytes(nonce, sizeof nonce);
  nlohmann::json claims = {
      {"iss", options_.token_issuer},
      {"sub", subject},
      {"aud", options_.token_service},
      {"iat", now},
      {"nbf", now},
      {"exp", now + options_.token_ttl.count()},
      {"jti", base64url_encode(std::string_view(reinterpret_cast<char*>(nonce), sizeof nonce))},
      {"access", access}};
  auto token = key_->sign(claims);  // scopes are client text: sign() dumps with replacement
  if (!token) return error_response(api::RegistryError(Code::denied, token.error().message()));
  HttpResponse r;
  r.body = nlohmann::json{{"token", *token},
                          {"access_token", *token},
                          {"expires_in", options_.token_ttl.count()},
                          {"issued_at", rfc3339(now)}}
               .dump();
  r.set("Content-Type", "application/json");
  return r;
}

}  // namespace gantry::runtime::registry::server
