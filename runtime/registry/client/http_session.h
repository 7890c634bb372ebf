// Requests to one registry with authentication and retries, shared by RegistryClient and
// RemoteRegistry.
//
// Vocabulary:
//   scope     what a bearer token is asked for: "repository:<name>:pull" or ":pull,push"
//             (the challenge's own scope is added to the request's).
//   attempt   one send of a request; with retry on, connection failures and 5xx/429 answers
//             are sent again (max_attempts in all) after a short backoff.
// Authorization goes only to the registry's own origin (a redirect to another host gets none,
// as docker does).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/api/registry.h"
#include "model/base/result.h"
#include "runtime/registry/client/http_transport.h"
#include "runtime/registry/client/registry_client.h"

namespace gantry::runtime::registry {

using Scopes = std::vector<std::string>;

std::string pull_scope(const std::string& repo);
std::string push_scope(const std::string& repo);

struct SendOptions {
  bool retry = true;
  bool follow_redirects = false;
  uint64_t max_body_bytes = 16 << 20;
};

class HttpSession {
 public:
  HttpSession(Url base, std::shared_ptr<HttpTransport> transport,
              std::optional<Credentials> credentials, int max_attempts);

  const Url& base() const { return base_; }
  // A request to base's origin with this target.
  HttpRequest request(std::string method, std::string target) const;

  Result<HttpResponse> exchange(HttpRequest req, const Scopes& scopes, SendOptions options = {});
  // The response's body stays to be read (redirects followed when asked; a 401 is answered).
  Result<std::unique_ptr<HttpBodyStream>> open(HttpRequest req, const Scopes& scopes,
                                               SendOptions options = {});

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  void authorize(HttpRequest& req, const Scopes& scopes);
  // Answers a 401: true when a retry with new authorization makes sense.
  Result<bool> answer_challenge(const HttpResponse& res, const Scopes& scopes);
  Result<Token> fetch_token(const std::map<std::string, std::string>& params, const Scopes& scopes);
  void backoff(int attempt);

  Url base_;
  std::shared_ptr<HttpTransport> transport_;
  std::optional<Credentials> credentials_;
  int max_attempts_;
  std::mutex mu_;
  bool basic_ = false;
  std::map<std::string, Token> tokens_;  // by joined scopes
};

// The Result error for a registry's answer: ErrorKind per registry_client.h, message naming the
// method, URL, status and the registry's code.
Error response_error(const HttpRequest& req, const HttpResponse& res,
                     api::RegistryErrorCode fallback);

}  // namespace gantry::runtime::registry
