#include "runtime/registry/client/http_session.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "model/api/registry_http.h"
#include "runtime/registry/client/auth_challenge.h"

namespace gantry::runtime::registry {

namespace {

std::string join(const Scopes& scopes) {
  std::string out;
  for (const auto& s : scopes) out += (out.empty() ? "" : " ") + s;
  return out;
}

bool retryable_status(int status) {
  return status == 429 || status >= 500;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

void drain(HttpBodyStream& s) {
  std::array<uint8_t, 4096> buf;
  for (int i = 0; i < 64; ++i) {
    auto n = s.read(buf);
    if (!n || *n == 0) return;
  }
}

}  // namespace

std::string pull_scope(const std::string& repo) {
  return "repository:" + repo + ":pull";
}
std::string push_scope(const std::string& repo) {
  return "repository:" + repo + ":pull,push";
}

HttpSession::HttpSession(Url base, std::shared_ptr<HttpTransport> transport,
                         std::optional<Credentials> credentials, int max_attempts)
    : base_(std::move(base)),
      transport_(std::move(transport)),
      credentials_(std::move(credentials)),
      max_attempts_(std::max(1, max_attempts)) {}

HttpRequest HttpSession::request(std::string method, std::string target) const {
  HttpRequest req;
  req.method = std::move(method);
  req.url = base_;
  req.url.target = std::move(target);
  return req;
}

void HttpSession::authorize(HttpRequest& req, const Scopes& scopes) {
  std::erase_if(req.headers, [](const auto& h) { return h.first == "Authorization"; });
  if (req.url.origin() != base_.origin()) return;
  std::lock_guard lock(mu_);
  auto it = tokens_.find(join(scopes));
  if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.expires) {
    req.headers.emplace_back("Authorization", "Bearer " + it->second.value);
    return;
  }
  if (basic_ && credentials_ && !credentials_->username.empty())
    req.headers.emplace_back(
        "Authorization",
        "Basic " + base64_encode(credentials_->username + ":" + credentials_->password));
}

Result<bool> HttpSession::answer_challenge(const HttpResponse& res, const Scopes& scopes) {
  auto header = res.header("www-authenticate");
  if (!header) return false;
  for (const auto& ch : parse_www_authenticate(*header)) {
    if (ch.scheme == "bearer" && ch.params.count("realm")) {
      GANTRY_ASSIGN_OR_RETURN(Token token, fetch_token(ch.params, scopes));
      std::lock_guard lock(mu_);
      tokens_[join(scopes)] = std::move(token);
      return true;
    }
    if (ch.scheme == "basic") {
      std::lock_guard lock(mu_);
      // Another thread may have turned basic auth on after this request left without it: the
      // caller retries once either way (it answers a challenge only once per request).
      if (!credentials_ || credentials_->username.empty()) return false;
      basic_ = true;
      return true;
    }
  }
  return false;
}

Result<HttpSession::Token> HttpSession::fetch_token(
    const std::map<std::string, std::string>& params, const Scopes& scopes) {
  GANTRY_ASSIGN_OR_RETURN_CTX(Url realm, parse_url(params.at("realm")), "token realm");
  Scopes all = scopes;
  if (auto s = params.find("scope"); s != params.end() && !s->second.empty() &&
                                     std::find(all.begin(), all.end(), s->second) == all.end())
    all.push_back(s->second);
  auto service = params.find("service");
  HttpRequest req;
  req.url = realm;
  std::string form;
  bool refresh = credentials_ && !credentials_->identity_token.empty();
  if (refresh) {
    // OAuth2 refresh token (docker's identitytoken): POST form to the realm.
    req.method = "POST";
    form = "grant_type=refresh_token&client_id=gantry&refresh_token=" +
           escape_query(credentials_->identity_token);
    if (service != params.end()) form += "&service=" + escape_query(service->second);
    for (const auto& s : all) form += "&scope=" + escape_query(s);
    req.body = form;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    req.method = "GET";
    if (service != params.end())
      req.url.target = with_query(req.url.target, "service", service->second);
    for (const auto& s : all) req.url.target = with_query(req.url.target, "scope", s);
    if (credentials_ && !credentials_->username.empty())
      req.headers.emplace_back(
          "Authorization",
          "Basic " + base64_encode(credentials_->username + ":" + credentials_->password));
  }
  Result<HttpResponse> res = Error(ErrorKind::internal, "");
  for (int attempt = 0; attempt < max_attempts_; ++attempt) {
    if (attempt > 0) backoff(attempt);
    res = transport_->exchange(req, 1 << 20);
    if (res && !retryable_status(res->status)) break;
  }
  if (!res) return std::move(res).error().with_context("get token");
  if (res->status != 200) {
    ErrorKind kind = res->status == 401 || res->status == 403 ? ErrorKind::permission_denied
                     : retryable_status(res->status)          ? ErrorKind::unavailable
                                                              : ErrorKind::invalid_argument;
    return Error(kind, "get token from " + realm.str() + ": status " + std::to_string(res->status) +
                           ": " + res->body.substr(0, 200));
  }
  auto json = nlohmann::json::parse(res->body, nullptr, false);
  if (!json.is_object())
    return Error(ErrorKind::invalid_argument, "token answer from " + realm.str() + " is not JSON");
  std::string value;
  for (const char* key : {"token", "access_token"})
    if (json.contains(key) && json[key].is_string() && !json[key].get<std::string>().empty()) {
      value = json[key].get<std::string>();
      break;
    }
  if (value.empty())
    return Error(ErrorKind::invalid_argument, "token answer from " + realm.str() + " has no token");
  int64_t expires_s = 60;
  if (json.contains("expires_in") && json["expires_in"].is_number_integer())
    expires_s = std::max<int64_t>(json["expires_in"].get<int64_t>(), 10);
  // Renew a little early so that a token does not expire between check and use.
  return Token{std::move(value),
               std::chrono::steady_clock::now() + std::chrono::seconds(expires_s - 5)};
}

void HttpSession::backoff(int attempt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50 << std::min(attempt, 6)));
}

Result<HttpResponse> HttpSession::exchange(HttpRequest req, const Scopes& scopes,
                                           SendOptions options) {
  bool challenged = false;
  int redirects = 0;
  int attempts = options.retry && !req.body_source ? max_attempts_ : 1;
  for (int attempt = 0;; ++attempt) {
    authorize(req, scopes);
    auto res = transport_->exchange(req, options.max_body_bytes);
    bool again = attempt + 1 < attempts;
    if (!res) {
      if (again && res.error().kind() == ErrorKind::unavailable) {
        backoff(attempt + 1);
        continue;
      }
      return res;
    }
    if (options.follow_redirects && is_redirect(res->status) && redirects < 10) {
      if (auto location = res->header("location")) {
        ++redirects;
        GANTRY_ASSIGN_OR_RETURN_CTX(Url next, resolve_location(req.url, *location),
                                    "redirect of " + req.url.str());
        req.url = std::move(next);
        if (req.method != "HEAD") req.method = "GET";
        --attempt;
        continue;
      }
    }
    if (res->status == 401 && !challenged && !req.body_source) {
      challenged = true;
      GANTRY_ASSIGN_OR_RETURN(bool retry, answer_challenge(*res, scopes));
      if (retry) {
        --attempt;
        continue;
      }
    }
    if (retryable_status(res->status) && again) {
      backoff(attempt + 1);
      continue;
    }
    return res;
  }
}

Result<std::unique_ptr<HttpBodyStream>> HttpSession::open(HttpRequest req, const Scopes& scopes,
                                                          SendOptions options) {
  bool challenged = false;
  int redirects = 0;
  int attempts = options.retry ? max_attempts_ : 1;
  for (int attempt = 0;; ++attempt) {
    authorize(req, scopes);
    auto res = transport_->open(req);
    bool again = attempt + 1 < attempts;
    if (!res) {
      if (again && res.error().kind() == ErrorKind::unavailable) {
        backoff(attempt + 1);
        continue;
      }
      return res;
    }
    auto& stream = **res;
    int status = stream.head().status;
    if (status == 401 && !challenged) {
      challenged = true;
      GANTRY_ASSIGN_OR_RETURN(bool retry, answer_challenge(stream.head(), scopes));
      if (retry) {
        drain(stream);
        res->reset();
        --attempt;
        continue;
      }
      return res;
    }
    if (options.follow_redirects && is_redirect(status)) {
      auto location = stream.head().header("location");
      if (location && ++redirects <= 10) {
        GANTRY_ASSIGN_OR_RETURN_CTX(Url next, resolve_location(req.url, *location),
                                    "redirect of " + req.url.str());
        drain(stream);
        res->reset();
        req.url = std::move(next);
        req.method = req.method == "HEAD" ? "HEAD" : "GET";
        --attempt;
        continue;
      }
    }
    if (retryable_status(status) && again) {
      drain(stream);
      res->reset();
      backoff(attempt + 1);
      continue;
    }
    return res;
  }
}

Error response_error(const HttpRequest& req, const HttpResponse& res,
                     api::RegistryErrorCode fallback) {
  api::RegistryError e = api::error_from_response(res.status, res.body, fallback);
  ErrorKind kind;
  int s = res.status;
  if (s == 404)
    kind = ErrorKind::not_found;
  else if (s == 401 || s == 403)
    kind = ErrorKind::permission_denied;
  else if (s == 429 || s >= 500)
    kind = ErrorKind::unavailable;
  else if (s == 405 || s == 501)
    kind = ErrorKind::not_implemented;
  else
    kind = ErrorKind::invalid_argument;
  std::string msg = req.method + " " + req.url.str() + ": " + std::to_string(s) + " " +
                    std::string(api::to_string(e.code()));
  if (!e.message().empty()) msg += ": " + e.message();
  return Error(kind, std::move(msg));
}

}  // namespace gantry::runtime::registry
