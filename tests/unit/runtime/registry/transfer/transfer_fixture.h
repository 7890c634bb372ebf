// Small images for transfer tests: an OCI layout with a few gzip layers made from generated
// files (regular files, a symlink, a removed file: whiteouts too), and a comparison of two
// unpacked trees.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "runtime/image/oci_layout.h"
#include "runtime/sys/system_env.h"
#include "runtime/unpack/layer_commit.h"

namespace gantry::testing::transfer {

namespace fs = std::filesystem;

inline void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// tag in layout_dir (created when missing): layer_count layers, each adding files of about
// file_bytes (random, so they do not compress away) and, from the second on, deleting one.
// Returns the descriptor of the manifest.

inline runtime::image::Descriptor make_image(const fs::path& work, const fs::path& layout_dir,
                                             const std::string& tag, int layer_count,
                                             size_t file_bytes = 4096, unsigned seed = 1) {
  namespace image = runtime::image;
  namespace unpack = runtime::unpack;
  auto layout = image::OciLayout::open(layout_dir);
  if (!layout) layout = image::OciLayout::create(layout_dir);
  if (!layout) throw std::runtime_error(layout.error().to_string());
  std::mt19937 rng(seed);
  fs::path prev;
  std::optional<image::LoadedImage> base;
  runtime::sys::SystemEnv env;
  for (int i = 0; i < layer_count; ++i) {
    fs::path dir = work / ("tree" + std::to_string(seed) + "-" + std::to_string(i));
    fs::remove_all(dir);
    if (!prev.empty())
      fs::copy(prev, dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::create_directories(dir / "etc");
    for (int f = 0; f < 3; ++f) {
      std::string content(file_bytes + f, '\0');
      for (auto& c : content) c = static_cast<char>(rng());
      write_text(dir / ("d" + std::to_string(i)) / ("f" + std::to_string(f)), content);
    }
    write_text(dir / "etc" / "layer", "layer " + std::to_string(i) + "\n");
    if (i > 0) fs::remove(dir / ("d" + std::to_string(i - 1)) / "f0");
    fs::remove(dir / "link");
    fs::create_symlink("etc/layer", dir / "link");
    auto layer =
        unpack::commit_directory_diff(layout->store(), prev, dir, image::Compression::gzip);
    if (!layer) throw std::runtime_error(layer.error().to_string());
    unpack::AppendRequest req{.base_layout = base ? &*layout : nullptr,
                              .base = base ? &*base : nullptr,
                              .layer = *layer,
                              .tag = tag,
                              .created_by = "layer " + std::to_string(i)};
    auto desc = unpack::append_layer(*layout, req, env);
    if (!desc) throw std::runtime_error(desc.error().to_string());
    auto loaded = layout->load_image(tag);
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    base = *loaded;
    prev = dir;
  }
  return base->descriptor;
}

// path -> "type mode size/target content-hash" for every entry under root.
inline std::map<std::string, std::string> describe_tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::string rel = fs::relative(it->path(), root).string();
    std::string d = std::to_string(st.st_mode) + " ";
    if (S_ISLNK(st.st_mode)) {
      d += "-> " + fs::read_symlink(it->path()).string();
    } else if (S_ISREG(st.st_mode)) {
      d += std::to_string(st.st_size) + " " +
           std::to_string(std::hash<std::string>{}(read_text(it->path())));
    }
    out[rel] = d;
  }
  return out;
}

}  // namespace gantry::testing::transfer
