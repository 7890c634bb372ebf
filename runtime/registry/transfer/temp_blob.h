// An unnamed temp file (O_TMPFILE: it vanishes with its last fd) that holds a blob while it
// changes form, and sources that read it back at any offset (a resumed push opens it again).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "model/base/result.h"
#include "runtime/image/compression.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::registry::transfer {

// In dir (empty: the temp directory, $TMPDIR or /tmp).
Result<sys::UniqueFd> make_temp_file(const std::filesystem::path& dir = {});

// Reads fd (shared, not moved) from offset with pread: many readers may share one fd.
class PreadSource final : public image::Source {
 public:
  PreadSource(std::shared_ptr<sys::UniqueFd> fd, uint64_t offset)
      : fd_(std::move(fd)), offset_(offset) {}
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  std::shared_ptr<sys::UniqueFd> fd_;
  uint64_t offset_;
};

}  // namespace gantry::runtime::registry::transfer
