// Small file helpers the content store and the OCI layout share: whole writes and reads that
// retry on EINTR and short counts, directory fsync, and replace-a-file-atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::runtime::content {

// Writes all of data to fd (retrying short writes and EINTR). `what` names the file in errors.
Result<void> write_all(int fd, std::span<const uint8_t> data, std::string_view what);
Result<void> write_all(int fd, std::string_view data, std::string_view what);

// Reads fd from its current offset to EOF; more than max_size_bytes is invalid_argument.
Result<std::string> read_all(int fd, int64_t max_size_bytes, std::string_view what);

// fsync of a directory, so that a rename or unlink inside it survives a crash.
Result<void> fsync_dir(const std::filesystem::path& dir);

// Replaces dir/name with bytes: a temp file in dir, fsync, rename over name, fsync dir.
// Readers see the old or the new file, never a part of either.
Result<void> write_file_atomic(const std::filesystem::path& dir, std::string_view name,
                               std::string_view bytes, int mode = 0644);

}  // namespace gantry::runtime::content
