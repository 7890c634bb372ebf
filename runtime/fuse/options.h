// Command line of gantry-fuse, overlay's vocabulary:
//
//   gantry-fuse -o lowerdir=A:B:C[,upperdir=U][,ro] [--pid-file P] [--foreground] MOUNTPOINT
//
//   lowerdir   read-only layers, top first (as overlay orders them); ':' separates, "\:" and
//              "\," escape a literal ':' or ','.
//   upperdir   the writable layer, in overlay's on-disk format; absent or "ro" gives a
//              read-only view.
//   workdir    accepted and ignored, so overlay's option strings can be reused as they are.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/base/result.h"

namespace gantry::runtime::fuse {

struct Options {
  std::vector<std::filesystem::path> lowers;  // top first
  std::optional<std::filesystem::path> upper;
  bool read_only = false;
  std::filesystem::path mountpoint;
  std::optional<std::filesystem::path> pid_file;
  bool foreground = false;

  bool writable() const { return upper.has_value() && !read_only; }
};

// Parses the arguments after the program name. invalid_argument on anything it does not know.
Result<Options> parse_args(const std::vector<std::string>& args);

// Parses one "-o" value into opts (lowers, upper, read_only).
Result<void> parse_mount_options(std::string_view value, Options& opts);

// Checks that every layer and the mountpoint are existing directories.
Result<void> validate(const Options& opts);

}  // namespace gantry::runtime::fuse
