// What the offline commands share: opening the image a name refers to, the state root, and
// printing an error the way every command does.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "model/base/result.h"
#include "runtime/image/compression.h"
#include "runtime/image/image_ref.h"
#include "runtime/image/oci_layout.h"
#include "runtime/snapshot/snapshotter.h"

namespace gantry::cli {

// "gantry <command>: <message>" on stderr; returns 1.
int fail(std::string_view command, const Error& error);

struct OpenedImage {
  runtime::image::ImageRef ref;
  runtime::image::OciLayout layout;
  runtime::image::LoadedImage image;
};

// Parses the name (oci:<dir>:<tag> or <dir>:<tag>) and loads the image it names.
Result<OpenedImage> open_image(std::string_view name);

// Parses a name for writing: the layout is created when missing.
struct TargetImage {
  runtime::image::ImageRef ref;
  runtime::image::OciLayout layout;
};
Result<TargetImage> open_target(std::string_view name);

Result<runtime::image::Compression> parse_compression(std::string_view name);

// <root>/snapshots/<backend>
Result<std::unique_ptr<runtime::snapshot::Snapshotter>> open_snapshotter(const std::string& root,
                                                                         std::string_view backend);

}  // namespace gantry::cli
