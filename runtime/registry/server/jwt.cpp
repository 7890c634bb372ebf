#include "runtime/registry/server/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

namespace gantry::runtime::registry::server {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

constexpr size_t kEcCoordBytes = 32;  // P-256

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

struct JwtKey::Pkey {
  EVP_PKEY* key = nullptr;
  ~Pkey() { EVP_PKEY_free(key); }
};

JwtKey::JwtKey(std::unique_ptr<Pkey> key, std::string alg, bool is_private)
    : key_(std::move(key)), alg_(std::move(alg)), private_(is_private) {}
JwtKey::JwtKey(JwtKey&&) noexcept = default;
JwtKey& JwtKey::operator=(JwtKey&&) noexcept = default;
JwtKey::~JwtKey() = default;

Result<JwtKey> JwtKey::load(const std::filesystem::path& pem) {
  std::ifstream in(pem);
  if (!in) return Error(ErrorKind::not_found, "cannot read token key " + pem.string());
  std::stringstream text;
  text << in.rdbuf();
  auto key = parse(text.str());
  if (!key) return key.error().with_context("token key " + pem.string());
  return key;
}

Result<JwtKey> JwtKey::parse(std::string_view pem) {
  auto bio = [&] {
    return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  };
  auto key = std::make_unique<Pkey>();
  bool is_private = false;
  if ((key->key = PEM_read_bio_PrivateKey(bio().get(), nullptr, nullptr, nullptr))) {
    is_private = true;
  } else if ((key->key = PEM_read_bio_PUBKEY(bio().get(), nullptr, nullptr, nullptr))) {
  } else if (X509* cert = PEM_read_bio_X509(bio().get(), nullptr, nullptr, nullptr)) {
    key->key = X509_get_pubkey(cert);
    X509_free(cert);
  }
  if (key->key == nullptr)
    return Error(ErrorKind::invalid_argument, "not a PEM private key, public key or certificate");
  std::string alg;
  if (EVP_PKEY_is_a(key->key, "RSA")) {
    alg = "RS256";
  } else if (EVP_PKEY_is_a(key->key, "EC") && EVP_PKEY_get_bits(key->key) == 256) {
    alg = "ES256";
  } else {
    return Error(ErrorKind::invalid_argument, "the key is neither RSA nor EC P-256");
  }
  return JwtKey(std::move(key), std::move(alg), is_private);
}

Result<std::string> JwtKey::sign(const nlohmann::json& claims) const {
  if (!private_) return Error(ErrorKind::failed_precondition, "token key has no private half");
  nlohmann::json header = {{"alg", alg_}, {"typ", "JWT"}};
  // Claims may quote client text that is not UTF-8: replaced, never thrown.
  std::string input =
      base64url_encode(header.dump()) + "." +
      base64url_encode(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    return Error(ErrorKind::internal, "cannot sign token");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Error(ErrorKind::internal, "cannot sign token");
  sig.resize(len);
  if (alg_ == "ES256") {  // DER ECDSA-Sig-Value -> r||s (RFC 7518 3.4)
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
    if (!es) return Error(ErrorKind::internal, "cannot decode the ECDSA signature");
    std::string raw(2 * kEcCoordBytes, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), out, kEcCoordBytes);
    BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), out + kEcCoordBytes, kEcCoordBytes);
    sig = std::move(raw);
  }
  return input + "." + base64url_encode(sig);
}

Result<nlohmann::json> JwtKey::verify(std::string_view token) const {
  auto denied = [](std::string why) { return Error(ErrorKind::permission_denied, "token " + why); };
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return denied("is not a compact JWS (three dot-separated parts)");
  auto header_text = base64url_decode(token.substr(0, dot1));
  auto claims_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !claims_text || !sig) return denied("has a part that is not base64url");
  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  auto claims = nlohmann::json::parse(*claims_text, nullptr, false);
  if (!header.is_object() || !claims.is_object()) return denied("header or claims not JSON");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != alg_)
    return denied("algorithm is not " + alg_);

  std::string der;
  if (alg_ == "ES256") {  // r||s -> DER for OpenSSL
    if (sig->size() != 2 * kEcCoordBytes) return denied("ES256 signature is not 64 bytes");
    std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
    const auto* raw = reinterpret_cast<const unsigned char*>(sig->data());
    BIGNUM* r = BN_bin2bn(raw, kEcCoordBytes, nullptr);
    BIGNUM* s = BN_bin2bn(raw + kEcCoordBytes, kEcCoordBytes, nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return Error(ErrorKind::internal, "cannot build the ECDSA signature");
    }
    int n = i2d_ECDSA_SIG(es.get(), nullptr);
    der.resize(static_cast<size_t>(n));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(es.get(), &out);
  } else {
    der = std::move(*sig);
  }
  std::string_view input = token.substr(0, dot2);
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->key) != 1)
    return Error(ErrorKind::internal, "cannot verify token");
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return denied("signature does not verify");
  return claims;
}

}  // namespace gantry::runtime::registry::server
