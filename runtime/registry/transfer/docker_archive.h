// The `docker save` format (a "docker-archive"), read and written with libarchive:
//
//   manifest.json   [{"Config": "<member>", "RepoTags": ["name:tag"...], "Layers":
//   ["<member>"...]}] <config member> the image config JSON (its sha256 is the image id) <layer
//   members> uncompressed layer tars, in the order of rootfs.diff_ids: "<id>/layer.tar"
//                   in the legacy layout (where a repeated layer may be a symlink to another
//                   "../<id>/layer.tar"), "blobs/sha256/<hex>" in docker 25's layout
//   repositories    {"name": {"tag": "<id>"}} (legacy; written, not needed for reading)
//
// Reading scans the tar once for its member names and sizes, and opens a member by scanning
// again (skips seek in an uncompressed file), so layers stream without being extracted.
// Writing goes to a temp file next to the target that is renamed over it at finish(); a
// writer dropped before finish() leaves nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/image/compression.h"

namespace gantry::runtime::registry::transfer {

struct ArchiveImage {
  std::string config;  // member name
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;  // member names, bottom first
};

// "busybox:latest" and "docker.io/library/busybox:latest" name the same image (the short
// form is what docker writes in RepoTags); a name without tag gets ":latest".
std::string normalize_repo_tag(std::string_view name);

class DockerArchiveReader {
 public:
  static Result<DockerArchiveReader> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<ArchiveImage>& images() const { return images_; }

  // ref "" : the only image (invalid_argument when there are several); "@N": the N-th;
  // "name:tag": the image whose RepoTags has it (not_found listing the tags there are).
  Result<size_t> select(std::string_view ref) const;

  // Size of a member (after following symlinks); not_found naming it.
  Result<uint64_t> member_size(std::string_view name) const;
  Result<std::string> read_member(std::string_view name, uint64_t max_size_bytes = 64 << 20) const;
  Result<std::unique_ptr<image::Source>> open_member(std::string_view name) const;

 private:
  struct Member {
    uint64_t size = 0;
    std::string link;  // symlink target resolved to a member name; empty for files
  };
  Result<std::string> resolve(std::string_view name) const;

  std::filesystem::path path_;
  std::map<std::string, Member, std::less<>> members_;
  std::vector<ArchiveImage> images_;
};

class DockerArchiveWriter {
 public:
  static Result<DockerArchiveWriter> create(const std::filesystem::path& path);
  DockerArchiveWriter(DockerArchiveWriter&&) noexcept;
  DockerArchiveWriter& operator=(DockerArchiveWriter&&) = delete;
  ~DockerArchiveWriter();

  Result<void> add_bytes(const std::string& name, std::string_view bytes);
  // Exactly size_bytes are read from source (fewer is an error naming the member).
  Result<void> add_stream(const std::string& name, uint64_t size_bytes, image::Source& source);
  // Writes manifest.json (and repositories when there are tags), then renames into place.
  Result<void> finish(const std::vector<ArchiveImage>& images);

  struct Impl;

 private:
  explicit DockerArchiveWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::runtime::registry::transfer
