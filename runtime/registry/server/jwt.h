// JSON Web Tokens (RFC 7519) as the Docker token protocol uses them: compact JWS signed with
// ES256 (ECDSA P-256, signature r||s) or RS256 (RSA PKCS#1 v1.5), with OpenSSL.
//
// Vocabulary:
//   signing key   a PEM private key (EC P-256 or RSA); the token server signs with it and the
//                 registry verifies with its public half.
//   verifying key a PEM public key, certificate or private key (only the public half is used).
//   claims        the JSON payload: iss, sub, aud, exp, nbf, iat, jti and `access`, a list of
//                 {"type":"repository","name":"<name>","actions":["pull","push"]}.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::registry::server {

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

class JwtKey {
 public:
  // Reads a PEM file: a private key (can sign and verify), or a public key or certificate
  // (verify only). invalid_argument for anything else, or a key that is neither EC P-256 nor
  // RSA.
  static Result<JwtKey> load(const std::filesystem::path& pem);
  static Result<JwtKey> parse(std::string_view pem);

  JwtKey(JwtKey&&) noexcept;
  JwtKey& operator=(JwtKey&&) noexcept;
  ~JwtKey();

  // "ES256" or "RS256".
  const std::string& algorithm() const { return alg_; }
  bool can_sign() const { return private_; }

  // header.payload.signature for these claims (failed_precondition without a private key).
  Result<std::string> sign(const nlohmann::json& claims) const;
  // The claims of a token whose header names this key's algorithm and whose signature
  // verifies (permission_denied otherwise, the message says which check failed). Expiry and
  // audience are the caller's checks.
  Result<nlohmann::json> verify(std::string_view token) const;

 private:
  struct Pkey;
  JwtKey(std::unique_ptr<Pkey> key, std::string alg, bool is_private);
  std::unique_ptr<Pkey> key_;
  std::string alg_;
  bool private_ = false;
};

}  // namespace gantry::runtime::registry::server
