// Digest: "sha256:<64 hex>", the name of content everywhere (blobs, diff_ids, manifests).
// Sha256: incremental hashing through OpenSSL (SHA-NI where the CPU has it).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry {

class Digest {
 public:
  Digest() = default;  // the zero digest; valid() is false

  // Accepts "sha256:" followed by 64 lowercase hex digits; anything else is invalid_argument.
  static Result<Digest> parse(std::string_view text);
  static Digest from_bytes(const std::array<uint8_t, 32>& bytes);
  // sha256 of the bytes.
  static Digest of(std::string_view bytes);

  bool valid() const { return valid_; }
  std::string str() const { return "sha256:" + hex(); }
  std::string hex() const;
  std::string_view algorithm() const { return "sha256"; }
  const std::array<uint8_t, 32>& bytes() const { return bytes_; }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::array<uint8_t, 32> bytes_{};
  bool valid_ = false;
};

std::ostream& operator<<(std::ostream& os, const Digest& d);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::span<const uint8_t> data);
  void update(std::string_view data);
  Digest finish();  // may be called once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry
