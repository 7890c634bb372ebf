// LayerWriter: writes the canonical layer tar of docs/layers.md, one entry at a time, through
// libarchive (pax_restricted, bytes_per_block 0, exactly the fields the contract lists), and
// hashes the uncompressed bytes on the way, so the diff_id costs no extra pass.
//
//   ByteSink   where the tar's bytes go, in order; an error from it stops the writer.
//   diff_id    sha256 of the uncompressed tar.
//
// The caller gives entries in canonical order; the writer does not sort or check that.
// Regular file content is streamed from an fd in bounded chunks, never held whole.
//
// read_tar_entries: the reverse, for tests and tools: every member as a TarEntry (whiteouts and
// opaque markers recognised by name; hardlinks as EntryType::hardlink) with its content when
// not larger than max_content_bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "runtime/image/tar_entry.h"

namespace gantry::runtime::image {

using ByteSink = std::function<Result<void>(std::span<const uint8_t>)>;

// A sink that appends to a string (the caller keeps the string alive).
ByteSink string_sink(std::string& out);
// A sink that drops the bytes (when only the diff_id is wanted).
ByteSink null_sink();

struct WrittenLayer {
  Digest diff_id;
  int64_t size_bytes = 0;  // bytes of the uncompressed tar
  int64_t entry_count = 0;
};

class LayerWriter {
 public:
  static Result<std::unique_ptr<LayerWriter>> open(ByteSink sink);
  ~LayerWriter();
  LayerWriter(const LayerWriter&) = delete;
  LayerWriter& operator=(const LayerWriter&) = delete;

  // Any entry but a regular file with content (size_bytes must be 0 for a regular file here).
  Result<void> add(const TarEntry& entry);
  // A regular file whose entry.size_bytes bytes are read from fd (from its current offset).
  // A file that turns out shorter or longer than the size is a conflict error.
  Result<void> add_file(const TarEntry& entry, int fd);
  // A regular file with the content in memory (tests, small files).
  Result<void> add_file(const TarEntry& entry, std::string_view content);
  // Ends the archive (two zero blocks, no padding) and flushes; call once.
  Result<WrittenLayer> finish();

  struct Impl;

 private:
  explicit LayerWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TarMember {
  TarEntry entry;
  std::string content;  // regular files not larger than max_content_bytes
  bool content_kept = false;
};

Result<std::vector<TarMember>> read_tar_entries(std::span<const uint8_t> tar,
                                                int64_t max_content_bytes = 1 << 20);
Result<std::vector<TarMember>> read_tar_entries(std::string_view tar,
                                                int64_t max_content_bytes = 1 << 20);
Result<std::vector<TarMember>> read_tar_entries_fd(int fd, int64_t max_content_bytes = 1 << 20);

}  // namespace gantry::runtime::image
