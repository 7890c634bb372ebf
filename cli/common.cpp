#include "cli/common.h"

#include <iostream>

namespace gantry::cli {

namespace image = runtime::image;

int fail(std::string_view command, const Error& error) {
  std::cerr << "gantry " << command << ": " << error.to_string() << "\n";
  return 1;
}

namespace {
Result<image::ImageRef> parse_oci_ref(std::string_view name) {
  GANTRY_ASSIGN_OR_RETURN(image::ImageRef ref, image::parse_image_ref(name));
  if (ref.transport != image::Transport::oci) {
    return Error(ErrorKind::not_implemented,
                 "image '" + std::string(name) + "': registries (docker://) are not supported yet");
  }
  return ref;
}
}  // namespace

Result<OpenedImage> open_image(std::string_view name) {
  GANTRY_ASSIGN_OR_RETURN(image::ImageRef ref, parse_oci_ref(name));
  GANTRY_ASSIGN_OR_RETURN_CTX(image::OciLayout layout, image::OciLayout::open(ref.layout_dir),
                              "image '" + std::string(name) + "'");
  GANTRY_ASSIGN_OR_RETURN_CTX(image::LoadedImage loaded, layout.load_image(ref.tag),
                              "image '" + std::string(name) + "'");
  return OpenedImage{std::move(ref), std::move(layout), std::move(loaded)};
}

Result<TargetImage> open_target(std::string_view name) {
  GANTRY_ASSIGN_OR_RETURN(image::ImageRef ref, parse_oci_ref(name));
  auto layout = image::OciLayout::open(ref.layout_dir);
  if (!layout && layout.error().kind() == ErrorKind::not_found) {
    layout = image::OciLayout::create(ref.layout_dir);
  }
  if (!layout) return std::move(layout).error().with_context("image '" + std::string(name) + "'");
  return TargetImage{std::move(ref), std::move(*layout)};
}

Result<image::Compression> parse_compression(std::string_view name) {
  if (name == "gzip") return image::Compression::gzip;
  if (name == "zstd") return image::Compression::zstd;
  if (name == "none") return image::Compression::none;
  return Error(ErrorKind::invalid_argument,
               "compression '" + std::string(name) + "': want gzip, zstd or none");
}

Result<std::unique_ptr<runtime::snapshot::Snapshotter>> open_snapshotter(const std::string& root,
                                                                         std::string_view backend) {
  std::filesystem::path dir = std::filesystem::path(root) / "snapshots" / std::string(backend);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "create '" + dir.string() + "'");
  return runtime::snapshot::open_snapshotter(backend, dir);
}

}  // namespace gantry::cli
