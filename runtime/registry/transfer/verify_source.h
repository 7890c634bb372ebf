// Streams that check and count the bytes passing through them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "model/base/digest.h"
#include "runtime/image/compression.h"

namespace gantry::runtime::registry::transfer {

// Hashes and counts what inner gives; at its end (or when more than size arrive) read()
// answers an error naming `what`, the expected and the actual digest, instead of 0.
class VerifyingSource final : public image::Source {
 public:
  VerifyingSource(std::unique_ptr<image::Source> inner, Digest expected,
                  std::optional<uint64_t> size_bytes, std::string what);
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  std::unique_ptr<image::Source> inner_;
  Digest expected_;
  std::optional<uint64_t> size_bytes_;
  std::string what_;
  Sha256 hash_;
  uint64_t read_bytes_ = 0;
  bool done_ = false;
};

// Calls on_bytes(n) for every read of n > 0 bytes (progress).
class CountingSource final : public image::Source {
 public:
  CountingSource(std::unique_ptr<image::Source> inner, std::function<void(uint64_t)> on_bytes)
      : inner_(std::move(inner)), on_bytes_(std::move(on_bytes)) {}
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  std::unique_ptr<image::Source> inner_;
  std::function<void(uint64_t)> on_bytes_;
};

// An owned fd read from its current offset.
class OwnedFdSource final : public image::Source {
 public:
  explicit OwnedFdSource(int fd) : fd_(fd) {}
  ~OwnedFdSource() override;
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  int fd_;
};

// Reads and discards offset_bytes of source (a resumed push of a stream that cannot seek).
Result<void> skip_bytes(image::Source& source, uint64_t offset_bytes);

}  // namespace gantry::runtime::registry::transfer
