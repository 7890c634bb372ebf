#include "runtime/unpack/unpacker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "runtime/sys/fs.h"
#include "runtime/unpack/chain_id.h"

namespace gantry::runtime::unpack {

namespace fs = std::filesystem;

namespace {

Result<void> check_layer_count(const image::LoadedImage& image) {
  size_t layers = image.manifest.layers.size();
  size_t diff_ids = image.config.rootfs.diff_ids.size();
  if (layers != diff_ids) {
    return Error(ErrorKind::invalid_argument, "image " + image.descriptor.digest.str() +
                                                  ": manifest has " + std::to_string(layers) +
                                                  " layers but config rootfs has " +
                                                  std::to_string(diff_ids) + " diff_ids");
  }
  return ok();
}

std::string layer_name(size_t index, const image::Descriptor& d) {
  return "layer " + std::to_string(index + 1) + " (" + d.digest.str() + ")";
}

Result<void> remove_dir_tree(const fs::path& dir) {
  sys::UniqueFd parent(::open(dir.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent) return errno_error(errno, "open '" + dir.parent_path().string() + "'");
  return sys::remove_tree_at(parent.get(), dir.filename().string());
}

}  // namespace

Result<image::ApplyResult> apply_layer_blob(const image::OciLayout& layout,
                                            const image::Descriptor& layer,
                                            const Digest& expected_diff_id, const fs::path& root,
                                            const image::ApplyOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, layout.store().open_blob(layer.digest));
  GANTRY_ASSIGN_OR_RETURN(image::ApplyResult applied, image::apply_layer(fd.get(), root, options));
  if (applied.compressed_digest != layer.digest ||
      static_cast<int64_t>(applied.compressed_size_bytes) != layer.size) {
    return Error(ErrorKind::invalid_argument,
                 "blob does not match its descriptor: want " + layer.digest.str() + " (" +
                     std::to_string(layer.size) + " bytes), got " +
                     applied.compressed_digest.str() + " (" +
                     std::to_string(applied.compressed_size_bytes) + " bytes)");
  }
  if (applied.diff_id != expected_diff_id) {
    return Error(ErrorKind::invalid_argument, "diff_id mismatch: config says " +
                                                  expected_diff_id.str() + ", the tar is " +
                                                  applied.diff_id.str());
  }
  return applied;
}

Result<std::vector<image::ApplyResult>> flatten_image(const image::OciLayout& layout,
                                                      const image::LoadedImage& image,
                                                      const fs::path& dir,
                                                      const UnpackOptions& options) {
  GANTRY_TRY(check_layer_count(image));
  std::error_code ec;
  if (fs::symlink_status(dir, ec).type() != fs::file_type::not_found) {
    return Error(ErrorKind::already_exists, "unpack target '" + dir.string() + "' exists");
  }
  fs::path abs = fs::absolute(dir);
  fs::create_directories(abs.parent_path(), ec);
  if (ec) return errno_error(ec.value(), "create '" + abs.parent_path().string() + "'");
  std::string tmpl = abs.parent_path().string() + "/." + abs.filename().string() + ".unpack-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return errno_error(errno, "mkdtemp '" + tmpl + "'");
  fs::path tmp(buf.data());
  ::chmod(tmp.c_str(), 0755);

  image::ApplyOptions apply = options.apply;
  apply.whiteout_format = image::WhiteoutFormat::plain;
  apply.lowers.clear();
  std::vector<image::ApplyResult> results;
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const image::Descriptor& layer = image.manifest.layers[i];
    auto applied = apply_layer_blob(layout, layer, image.config.rootfs.diff_ids[i], tmp, apply);
    if (!applied) {
      (void)remove_dir_tree(tmp);
      return std::move(applied).error().with_context(layer_name(i, layer));
    }
    results.push_back(*applied);
  }
  if (::rename(tmp.c_str(), abs.c_str()) != 0) {
    int e = errno;
    (void)remove_dir_tree(tmp);
    return errno_error(e, "rename '" + tmp.string() + "' to '" + abs.string() + "'");
  }
  return results;
}

Result<UnpackReport> unpack_image(snapshot::Snapshotter& snapshotter,
                                  const image::OciLayout& layout, const image::LoadedImage& image,
                                  const UnpackOptions& options) {
  GANTRY_TRY(check_layer_count(image));
  const auto& diff_ids = image.config.rootfs.diff_ids;
  std::vector<Digest> chains = chain_ids(diff_ids);
  UnpackReport report;
  std::string parent;
  for (size_t i = 0; i < chains.size(); ++i) {
    const image::Descriptor& layer = image.manifest.layers[i];
    LayerReport lr{.diff_id = diff_ids[i], .chain_id = chains[i]};
    std::string name = chains[i].str();
    if (auto info = snapshotter.stat(name); info && info->kind == snapshot::Kind::committed) {
      lr.reused = true;
      report.layers.push_back(lr);
      parent = name;
      continue;
    }
    // A key of our own; a leftover from a killed unpack is removed first.
    std::string key = "extract/" + name;
    if (snapshotter.stat(key)) (void)snapshotter.remove(key);
    GANTRY_TRY_CTX(snapshotter.prepare(key, parent), layer_name(i, layer));
    auto finish = [&]() -> Result<image::ApplyResult> {
      GANTRY_ASSIGN_OR_RETURN(auto where, snapshotter.layout(key));
      image::ApplyOptions apply = options.apply;
      // The bottom layer has nothing to hide or cover: plain format, so no whiteout devices
      // appear in a view of that layer alone.
      if (where.overlay_format && !where.lowers.empty()) {
        apply.whiteout_format = image::WhiteoutFormat::overlay;
        apply.lowers = where.lowers;
      } else {
        apply.whiteout_format = image::WhiteoutFormat::plain;
        apply.lowers.clear();
      }
      GANTRY_ASSIGN_OR_RETURN(auto applied,
                              apply_layer_blob(layout, layer, diff_ids[i], where.upper, apply));
      GANTRY_TRY(snapshotter.commit(name, key));
      return applied;
    };
    auto applied = finish();
    if (!applied) {
      (void)snapshotter.remove(key);
      return std::move(applied).error().with_context(layer_name(i, layer));
    }
    lr.applied = *applied;
    report.layers.push_back(lr);
    parent = name;
  }
  report.top = parent;
  return report;
}

}  // namespace gantry::runtime::unpack
