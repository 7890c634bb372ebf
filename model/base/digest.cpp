#include "model/base/digest.h"

#include <openssl/evp.h>

#include <cassert>
#include <ostream>

namespace gantry {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (!text.starts_with(prefix)) {
    return Error(ErrorKind::invalid_argument,
                 "digest '" + std::string(text.substr(0, 80)) + "': algorithm must be sha256");
  }
  std::string_view hex = text.substr(prefix.size());
  if (hex.size() != 64) {
    return Error(ErrorKind::invalid_argument,
                 "digest '" + std::string(text.substr(0, 80)) + "': want 64 hex digits, got " +
                     std::to_string(hex.size()));
  }
  std::array<uint8_t, 32> bytes{};
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Error(ErrorKind::invalid_argument,
                   "digest '" + std::string(text) + "': not lowercase hex");
    }
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return from_bytes(bytes);
}

Digest Digest::from_bytes(const std::array<uint8_t, 32>& bytes) {
  Digest d;
  d.bytes_ = bytes;
  d.valid_ = true;
  return d;
}

std::string Digest::hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < 32; ++i) {
    out[2 * i] = kHex[bytes_[i] >> 4];
    out[2 * i + 1] = kHex[bytes_[i] & 15];
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Digest& d) { return os << d.str(); }

Digest Digest::of(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  assert(impl_->ctx != nullptr);
  int rc = EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  assert(rc == 1);
  (void)rc;
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const uint8_t> data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}
void Sha256::update(std::string_view data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

Digest Sha256::finish() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  assert(len == 32);
  return Digest::from_bytes(out);
}

}  // namespace gantry
