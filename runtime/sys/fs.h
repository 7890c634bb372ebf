// Small file system helpers on fds: whole writes and reads, directory fsync, removal of a tree
// without following symlinks, listing a directory, and xattrs of an entry named relative to a
// directory fd (never following a final symlink).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/base/result.h"

namespace gantry::runtime::sys {

// Writes every byte (retrying short writes and EINTR).
Result<void> write_all(int fd, std::span<const uint8_t> data);
Result<void> write_all(int fd, std::string_view data);
// Like write_all, at an offset (pwrite).
Result<void> pwrite_all(int fd, std::span<const uint8_t> data, uint64_t offset);

// Reads until end of file; more than max_size_bytes is invalid_argument.
Result<std::string> read_all(int fd);
Result<std::string> read_all(int fd, int64_t max_size_bytes);

// Replaces dir/name with bytes: a temp file in dir, fsync, rename over name, fsync dir.
// Readers see the old or the new file, never a part of either.
Result<void> write_file_atomic(const std::filesystem::path& dir, std::string_view name,
                               std::string_view bytes, int mode = 0644);

// fsync of a directory, so that entries created or renamed in it are durable.
Result<void> fsync_dir(int dir_fd);
Result<void> fsync_dir(const std::filesystem::path& dir);

// Removes name in dir_fd and, when it is a directory, everything below it. Symlinks are
// removed, never followed; mount points below are not crossed (EXDEV-like errors surface as
// EBUSY from rmdir). A missing name is success.
Result<void> remove_tree_at(int dir_fd, const std::string& name);

// Names in a directory, without "." and "..", in the order the file system gives them.
Result<std::vector<std::string>> list_dir(int dir_fd);

// Copies the data of one open file into another (copy_file_range, then read/write).
Result<void> copy_data(int from_fd, int to_fd);

// xattrs of dir_fd/name, not following name when it is a symlink.
Result<void> set_xattr_at(int dir_fd, const std::string& name, const std::string& key,
                          std::string_view value);
Result<std::optional<std::string>> get_xattr_at(int dir_fd, const std::string& name,
                                                const std::string& key);
// Every (name, value) pair, names in ascending bytewise order.
Result<std::vector<std::pair<std::string, std::string>>> list_xattrs_at(int dir_fd,
                                                                        const std::string& name);

}  // namespace gantry::runtime::sys
