// The docker-archive reader (runtime/registry/transfer/docker_archive.h) on hostile input.
// The first byte picks the mode:
//   even: the rest is a whole tar file, read as a docker-archive;
//   odd:  the rest is the text of manifest.json inside a tar that also holds a config
//         ("c.json"), a layer ("x/layer.tar"), a symlink to it in docker's legacy layout
//         ("l/layer.tar" -> "../x/layer.tar"), a symlink loop ("a" <-> "b") and a link out of
//         the archive ("out" -> "../../etc/passwd").
// Must never crash or hang. An archive that opens names only members that resolve; reading one
// gives exactly member_size() bytes; select("") fails iff there is not exactly one image.
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/registry/transfer/docker_archive.h"

namespace transfer = gantry::runtime::registry::transfer;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_docker_archive: %s\n", what.c_str());
  std::abort();
}

std::string scratch_path() {
  const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/fuzz-docker-archive-" + std::to_string(::getpid()) + ".tar";
}

void add(archive* a, const std::string& name, const std::string& body, const char* link) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_mode(e, 0644);
  if (link != nullptr) {
    archive_entry_set_filetype(e, AE_IFLNK);
    archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, 0);
  } else {
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
  }
  if (archive_write_header(a, e) != ARCHIVE_OK) fail("write header");
  if (link == nullptr && !body.empty() &&
      archive_write_data(a, body.data(), body.size()) != static_cast<la_ssize_t>(body.size()))
    fail("write data");
  archive_entry_free(e);
}

void write_structured(const std::string& path, const std::string& manifest) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) fail("open scratch tar");
  add(a, "c.json", R"({"rootfs":{"type":"layers","diff_ids":[]}})", nullptr);
  add(a, "x/layer.tar", std::string(1024, '\0'), nullptr);
  add(a, "l/layer.tar", "", "../x/layer.tar");
  add(a, "a", "", "b");
  add(a, "b", "", "a");
  add(a, "out", "", "../../etc/passwd");
  add(a, "manifest.json", manifest, nullptr);
  archive_write_close(a);
  archive_write_free(a);
}

void check_member(const transfer::DockerArchiveReader& r, const std::string& name) {
  auto size = r.member_size(name);
  if (!size) fail("a member named by an archive that opened does not resolve: " + name);
  auto bytes = r.read_member(name, 1 << 20);
  if (*size <= (1u << 20)) {
    if (!bytes) fail("member '" + name + "' unreadable: " + bytes.error().to_string());
    if (bytes->size() != *size) fail("member '" + name + "' read size differs from its size");
  } else if (bytes) {
    fail("member above the limit was read");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string path = scratch_path();
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    write_structured(path, rest);
  } else {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) fail("open scratch file");
    if (!rest.empty() && std::fwrite(rest.data(), 1, rest.size(), f) != rest.size())
      fail("write scratch file");
    std::fclose(f);
  }
  auto reader = transfer::DockerArchiveReader::open(path);
  if (reader) {
    const auto& images = reader->images();
    auto only = reader->select("");
    if (static_cast<bool>(only) != (images.size() == 1)) fail("select(\"\") disagrees with count");
    for (const auto& img : images) {
      check_member(*reader, img.config);
      for (const auto& l : img.layers) check_member(*reader, l);
      for (const auto& t : img.repo_tags) {
        auto i = reader->select(t);
        if (!i) fail("a RepoTag of the archive does not select: " + t);
      }
    }
    (void)reader->select("@" + std::to_string(images.size()));
  }
  ::unlink(path.c_str());
  return 0;
}
