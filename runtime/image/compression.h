// Compression of layer blobs: detection by magic, and streams that hash as bytes pass.
//
// Vocabulary:
//   Source   something bytes are pulled from (read returns 0 at the end).
//   Sink     something bytes are pushed into; close() flushes what is held back.
//   compressed / uncompressed digest: the sha256 of the blob as stored (the layer digest of a
//            manifest) and of the tar inside it (the diff_id). Both streams are hashed while
//            they pass, so neither costs a second read.
//
// Decompression is bounded while it streams: max_expanded_bytes caps the bytes that come out,
// max_ratio caps out/in once ratio_grace_bytes came out (a small file may expand a lot without
// being a bomb). Crossing a bound is invalid_argument. gzip is inflated with ISA-L's igzip
// (several times zlib's speed), multi-member streams included; zstd with libzstd, multi-frame.
// gzip output is written by zlib: the same bytes on every CPU, so digests of built layers are
// reproducible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "model/base/digest.h"
#include "model/base/result.h"

namespace gantry::runtime::image {

enum class Compression { none, gzip, zstd };

std::string_view to_string(Compression c);

// gzip: 1f 8b; zstd: 28 b5 2f fd; anything else (a tar, or fewer bytes) is none.
Compression detect_compression(std::span<const uint8_t> head);

class Source {
 public:
  virtual ~Source() = default;
  // Up to buf.size() bytes into buf; 0 only at the end.
  virtual Result<size_t> read(std::span<uint8_t> buf) = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Result<void> write(std::span<const uint8_t> data) = 0;
  virtual Result<void> close() { return ok(); }
};

// Reads an fd (not owned) to its end.
class FdSource final : public Source {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  int fd_;
};

// Reads bytes held elsewhere (not copied; they must outlive the source).
class BytesSource final : public Source {
 public:
  explicit BytesSource(std::string_view bytes) : bytes_(bytes) {}
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  std::string_view bytes_;
};

// Writes to an fd (not owned).
class FdSink final : public Sink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  Result<void> write(std::span<const uint8_t> data) override;

 private:
  int fd_;
};

// Appends to a string.
class StringSink final : public Sink {
 public:
  Result<void> write(std::span<const uint8_t> data) override;
  std::string& str() { return bytes_; }

 private:
  std::string bytes_;
};

struct DecompressOptions {
  std::optional<Compression> compression;  // unset: detect by magic
  uint64_t max_expanded_bytes = 0;         // 0: no bound
  uint64_t max_ratio = 0;                  // 0: no bound
  uint64_t ratio_grace_bytes = 16ull << 20;
  // A side not hashed (its bytes were or will be verified elsewhere) has no digest to ask for.
  bool hash_compressed = true;
  bool hash_uncompressed = true;
};

// The uncompressed stream of a compressed Source, hashing both sides (unless told otherwise).
class DecompressingSource final : public Source {
 public:
  // Reads the first bytes of inner to detect the compression (unless given).
  static Result<std::unique_ptr<DecompressingSource>> open(Source& inner,
                                                           DecompressOptions options = {});
  ~DecompressingSource() override;

  Result<size_t> read(std::span<uint8_t> buf) override;
  // Reads to the end, discarding (what is left after a tar's end still counts in the digests).
  Result<void> drain();

  Compression compression() const;
  bool finished() const;  // read returned 0
  uint64_t compressed_bytes() const;
  uint64_t uncompressed_bytes() const;
  // Valid once finished(); each may be called once.
  Digest compressed_digest();
  Digest uncompressed_digest();

  struct Impl;

 private:
  explicit DecompressingSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct CompressOptions {
  Compression compression = Compression::gzip;
  int level = 0;  // 0: the library's default (gzip 6, zstd 3)
};

// Compresses what is written into inner, hashing both sides. close() ends the stream (it
// does not close inner).
class CompressingSink final : public Sink {
 public:
  static Result<std::unique_ptr<CompressingSink>> open(Sink& inner, CompressOptions options = {});
  ~CompressingSink() override;

  Result<void> write(std::span<const uint8_t> data) override;
  Result<void> close() override;

  uint64_t compressed_bytes() const;
  uint64_t uncompressed_bytes() const;
  // Valid after close(); each may be called once.
  Digest compressed_digest();
  Digest uncompressed_digest();

  struct Impl;

 private:
  explicit CompressingSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whole-buffer helpers (tests, small blobs).
Result<std::string> compress_bytes(std::string_view data, CompressOptions options = {});
Result<std::string> decompress_bytes(std::string_view data, DecompressOptions options = {});

}  // namespace gantry::runtime::image
