#include "runtime/image/layer_apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "runtime/image/compression.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using gantry::Digest;
using gantry::ErrorKind;
using gantry::testing::TempDir;
namespace image = gantry::runtime::image;
using image::ApplyOptions;
using image::Compression;
using image::WhiteoutFormat;

namespace {

struct Attrs {
  int perm = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1'600'000'000;
  std::map<std::string, std::string> xattrs;
};

// Builds a tar in memory with libarchive, as a hostile or a friendly tool would.
class Tar {
 public:
  Tar() : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_per_block(a_, 0);
    archive_write_open(a_, this, nullptr, &Tar::write_cb, nullptr);
  }
  ~Tar() {
    if (e_) archive_entry_free(e_);
    archive_write_free(a_);
  }

  Tar& file(const std::string& path, const std::string& content, Attrs at = {}) {
    auto* e = entry(path, AE_IFREG, at);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    header(e);
    if (!content.empty()) archive_write_data(a_, content.data(), content.size());
    return *this;
  }
  Tar& dir(const std::string& path, Attrs at = {.perm = 0755}) {
    header(entry(path, AE_IFDIR, at));
    return *this;
  }
  Tar& symlink(const std::string& path, const std::string& target, Attrs at = {.perm = 0777}) {
    auto* e = entry(path, AE_IFLNK, at);
    archive_entry_set_symlink(e, target.c_str());
    header(e);
    return *this;
  }
  Tar& hardlink(const std::string& path, const std::string& target) {
    auto* e = entry(path, AE_IFREG, {});
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    header(e);
    return *this;
  }
  Tar& node(const std::string& path, unsigned type, int major, int minor, Attrs at = {}) {
    auto* e = entry(path, type, at);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    header(e);
    return *this;
  }
  // A regular file header that declares size; the data is streamed by the caller.
  // The bytes of a header that declares size, without its data (the archive is left open).
  std::string header_only(const std::string& path, int64_t size) {
    auto* e = entry(path, AE_IFREG, {});
    archive_entry_set_size(e, size);
    header(e);
    return out_;
  }
  Tar& whiteout(const std::string& dir, const std::string& name) {
    return file(dir.empty() ? ".wh." + name : dir + "/.wh." + name, "", {.perm = 0, .mtime = 0});
  }
  Tar& opaque(const std::string& dir) {
    return file(dir.empty() ? ".wh..wh..opq" : dir + "/.wh..wh..opq", "", {.perm = 0, .mtime = 0});
  }
  std::string bytes() {
    archive_write_close(a_);
    return out_;
  }

 private:
  static la_ssize_t write_cb(struct archive*, void* ctx, const void* buf, size_t n) {
    static_cast<Tar*>(ctx)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  struct archive_entry* entry(const std::string& path, unsigned type, const Attrs& at) {
    if (e_) archive_entry_free(e_);
    e_ = archive_entry_new();
    archive_entry_set_pathname(e_, path.c_str());
    archive_entry_set_filetype(e_, type);
    archive_entry_set_perm(e_, at.perm);
    archive_entry_set_uid(e_, at.uid);
    archive_entry_set_gid(e_, at.gid);
    archive_entry_set_mtime(e_, at.mtime, 0);
    for (const auto& [k, v] : at.xattrs)
      archive_entry_xattr_add_entry(e_, k.c_str(), v.data(), v.size());
    return e_;
  }
  void header(struct archive_entry* e) { BOOST_REQUIRE(archive_write_header(a_, e) == ARCHIVE_OK); }

  struct archive* a_;
  struct archive_entry* e_ = nullptr;
  std::string out_;

 public:
  Tar(const Tar&) = delete;
  Tar& operator=(const Tar&) = delete;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE_MESSAGE(lstat(p.c_str(), &st) == 0, "lstat " << p);
  return st;
}

// root/ to apply into, and outside/ next to it with a sentinel that must never change.
struct Scratch {
  TempDir tmp{"gantry-apply"};
  fs::path root = tmp / "root";
  fs::path outside = tmp / "outside";
  Scratch() {
    fs::create_directories(root);
    fs::create_directories(outside);
    spit(outside / "sentinel", "host");
  }
  void check_outside_untouched() const {
    BOOST_TEST(slurp(outside / "sentinel") == "host");
    size_t n = 0;
    for (auto it = fs::directory_iterator(outside); it != fs::directory_iterator(); ++it) ++n;
    BOOST_TEST(n == 1u);
    size_t top = 0;
    for (auto it = fs::directory_iterator(tmp.path()); it != fs::directory_iterator(); ++it) ++top;
    BOOST_TEST(top == 2u);  // root and outside, nothing else
  }
};

gantry::Result<image::ApplyResult> apply_blob(const std::string& blob, const fs::path& root,
                                              const ApplyOptions& o = {}) {
  image::BytesSource src(blob);
  return image::apply_layer(src, root, o);
}

std::string err(const gantry::Result<image::ApplyResult>& r) {
  return r ? std::string() : r.error().to_string();
}

void expect_invalid(const gantry::Result<image::ApplyResult>& r) {
  BOOST_REQUIRE_MESSAGE(!r, "applied, but should have been refused");
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST_MESSAGE(r.error().to_string());
}

}  // namespace

// ---------- normal apply ----------

BOOST_AUTO_TEST_CASE(every_entry_type) {
  if (!gantry::testing::require_root()) return;
  Scratch s;
  Tar t;
  t.dir("d", {.perm = 0750, .uid = 1000, .gid = 1001, .mtime = 1'000})
      .file("d/f", "hello",
            {.perm = 04755,
             .uid = 1000,
             .gid = 1001,
             .mtime = 2'000,
             .xattrs = {{"user.a", "1"}, {"user.b", std::string("\0x", 2)}}})
      .symlink("d/l", "../elsewhere", {.perm = 0777, .uid = 7, .gid = 8, .mtime = 3'000})
      .hardlink("d/h", "d/f")
      .node("d/fifo", AE_IFIFO, 0, 0, {.perm = 0640, .mtime = 4'000})
      .node("d/null", AE_IFCHR, 1, 3, {.perm = 0666})
      .node("d/blk", AE_IFBLK, 7, 0, {.perm = 0660})
      .file("/abs/x", "stripped");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(r->entry_count == 8u);
  BOOST_TEST(r->skipped_device_count == 0u);

  auto d = lstat_of(s.root / "d");
  BOOST_TEST(S_ISDIR(d.st_mode));
  BOOST_TEST((d.st_mode & 07777) == 0750u);
  BOOST_TEST(d.st_uid == 1000u);
  BOOST_TEST(d.st_gid == 1001u);
  BOOST_TEST(d.st_mtim.tv_sec == 1'000);  // set after its children were created

  auto f = lstat_of(s.root / "d/f");
  BOOST_TEST(S_ISREG(f.st_mode));
  BOOST_TEST((f.st_mode & 07777) == 04755u);  // setuid survives the chown
  BOOST_TEST(f.st_uid == 1000u);
  BOOST_TEST(f.st_mtim.tv_sec == 2'000);
  BOOST_TEST(f.st_nlink == 2u);
  BOOST_TEST(slurp(s.root / "d/f") == "hello");
  char v[8];
  ssize_t n = lgetxattr((s.root / "d/f").c_str(), "user.b", v, sizeof v);
  if (n >= 0) BOOST_TEST(std::string(v, static_cast<size_t>(n)) == std::string("\0x", 2));

  auto h = lstat_of(s.root / "d/h");
  BOOST_TEST(h.st_ino == f.st_ino);

  auto l = lstat_of(s.root / "d/l");
  BOOST_TEST(S_ISLNK(l.st_mode));
  BOOST_TEST(fs::read_symlink(s.root / "d/l").string() == "../elsewhere");
  BOOST_TEST(l.st_uid == 7u);
  BOOST_TEST(l.st_mtim.tv_sec == 3'000);

  auto fifo = lstat_of(s.root / "d/fifo");
  BOOST_TEST(S_ISFIFO(fifo.st_mode));
  BOOST_TEST((fifo.st_mode & 07777) == 0640u);
  BOOST_TEST(fifo.st_mtim.tv_sec == 4'000);
  auto null = lstat_of(s.root / "d/null");
  BOOST_TEST(S_ISCHR(null.st_mode));
  BOOST_TEST(major(null.st_rdev) == 1u);
  BOOST_TEST(minor(null.st_rdev) == 3u);
  BOOST_TEST(S_ISBLK(lstat_of(s.root / "d/blk").st_mode));

  // Absolute names: the leading '/' is stripped; missing parents are 0755 root:root, mtime 0.
  BOOST_TEST(slurp(s.root / "abs/x") == "stripped");
  auto abs = lstat_of(s.root / "abs");
  BOOST_TEST((abs.st_mode & 07777) == 0755u);
  BOOST_TEST(abs.st_uid == 0u);
  BOOST_TEST(abs.st_mtim.tv_sec == 0);
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(devices_skipped_when_not_allowed) {
  Scratch s;
  Tar t;
  t.node("null", AE_IFCHR, 1, 3).node("sda", AE_IFBLK, 8, 0).file("f", "x");
  auto r = apply_blob(t.bytes(), s.root, {.create_devices = false});
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(r->skipped_device_count == 2u);
  BOOST_TEST(!fs::exists(fs::symlink_status(s.root / "null")));
  BOOST_TEST(!fs::exists(fs::symlink_status(s.root / "sda")));
  BOOST_TEST(fs::exists(s.root / "f"));
}

BOOST_AUTO_TEST_CASE(digests_and_sizes_in_one_pass) {
  Scratch s;
  Tar t;
  std::string big(300'000, 'z');
  t.dir("a").file("a/big", big).file("a/small", "s");
  std::string tar = t.bytes();
  for (Compression c : {Compression::none, Compression::gzip, Compression::zstd}) {
    BOOST_TEST_CONTEXT(image::to_string(c)) {
      auto blob = image::compress_bytes(tar, {.compression = c});
      BOOST_REQUIRE(blob);
      fs::remove_all(s.root);
      fs::create_directory(s.root);
      auto r = apply_blob(*blob, s.root);
      BOOST_REQUIRE_MESSAGE(r, err(r));
      BOOST_TEST((r->compression == c));
      BOOST_TEST(r->diff_id == Digest::of(tar));
      BOOST_TEST(r->compressed_digest == Digest::of(*blob));
      BOOST_TEST(r->uncompressed_size_bytes == tar.size());
      BOOST_TEST(r->compressed_size_bytes == blob->size());
      BOOST_TEST(r->entry_count == 3u);
      BOOST_TEST(slurp(s.root / "a/big") == big);
    }
  }
  // Through an fd, with zero padding after the tar (part of the diff_id).
  std::string padded = tar + std::string(10'240, '\0');
  spit(s.tmp / "layer.tar", padded);
  int fd = open((s.tmp / "layer.tar").c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  auto r = image::apply_layer(fd, s.root);
  close(fd);
  fs::remove(s.tmp / "layer.tar");
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(r->diff_id == Digest::of(padded));
}

BOOST_AUTO_TEST_CASE(upsert_rules_and_duplicates) {
  Scratch s;
  fs::create_directories(s.root / "keep/old");
  spit(s.root / "keep/old/file", "lower");
  fs::create_directories(s.root / "was_dir/sub");
  spit(s.root / "was_file", "lower");
  Tar t;
  t.dir("keep", {.perm = 0700, .mtime = 5})  // dir onto dir: metadata only
      .file("was_dir", "now a file")         // file onto dir: the dir goes
      .dir("was_file")                       // dir onto file
      .file("dup", "first")
      .file("dup", "second")  // later wins
      .file("flip", "file")
      .dir("flip")  // file then dir of the same name
      .file("flip/inner", "in");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(slurp(s.root / "keep/old/file") == "lower");
  BOOST_TEST((lstat_of(s.root / "keep").st_mode & 07777) == 0700u);
  BOOST_TEST(lstat_of(s.root / "keep").st_mtim.tv_sec == 5);
  BOOST_TEST(slurp(s.root / "was_dir") == "now a file");
  BOOST_TEST(fs::is_directory(s.root / "was_file"));
  BOOST_TEST(slurp(s.root / "dup") == "second");
  BOOST_TEST(slurp(s.root / "flip/inner") == "in");
}

BOOST_AUTO_TEST_CASE(whiteouts_plain) {
  Scratch s;
  fs::create_directories(s.root / "a/deep/er");
  spit(s.root / "a/deep/er/f", "x");
  spit(s.root / "a/file", "x");
  spit(s.root / "a/stay", "x");
  Tar t;
  t.dir("a")
      .whiteout("a", "deep")
      .whiteout("a", "file")
      .whiteout("a", "missing")
      .whiteout("nodir", "x");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(!fs::exists(s.root / "a/deep"));
  BOOST_TEST(!fs::exists(s.root / "a/file"));
  BOOST_TEST(fs::exists(s.root / "a/stay"));
  BOOST_TEST(!fs::exists(s.root / "a/.wh.deep"));
  BOOST_TEST(!fs::exists(s.root / "nodir"));
}

BOOST_AUTO_TEST_CASE(opaque_plain_wherever_the_marker_stands) {
  Scratch s;
  fs::create_directories(s.root / "o/lowerdir");
  spit(s.root / "o/lowerfile", "x");
  spit(s.root / "o/replaced", "lower");
  Tar t;
  // The marker after the layer's own children: they stay, the lower ones go.
  t.dir("o")
      .file("o/new", "n")
      .file("o/replaced", "upper")
      .dir("o/sub")
      .file("o/sub/x", "x")
      .opaque("o");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(!fs::exists(s.root / "o/lowerdir"));
  BOOST_TEST(!fs::exists(s.root / "o/lowerfile"));
  BOOST_TEST(slurp(s.root / "o/new") == "n");
  BOOST_TEST(slurp(s.root / "o/replaced") == "upper");
  BOOST_TEST(slurp(s.root / "o/sub/x") == "x");
  BOOST_TEST(!fs::exists(s.root / "o/.wh..wh..opq"));
}

// A directory the layer writes again below an opaque directory is a new directory: what the
// lower held inside it is hidden too, at any depth (found by the union-view property).
BOOST_AUTO_TEST_CASE(opaque_plain_hides_the_lower_inside_rewritten_directories) {
  Scratch s;
  fs::create_directories(s.root / "o/m/n/deep");
  spit(s.root / "o/m/lowerfile", "x");
  spit(s.root / "o/m/n/deep/f", "x");
  Tar t;
  t.dir("o").opaque("o").dir("o/m").dir("o/m/n").file("o/m/n/upper", "u");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(fs::is_directory(s.root / "o/m/n"));
  BOOST_TEST(slurp(s.root / "o/m/n/upper") == "u");
  BOOST_TEST(!fs::exists(s.root / "o/m/lowerfile"));
  BOOST_TEST(!fs::exists(s.root / "o/m/n/deep"));
}

BOOST_AUTO_TEST_CASE(overlay_format_whiteouts_opaque_and_copy_up) {
  if (!gantry::testing::require_root()) return;
  Scratch s;
  fs::path lower = s.tmp / "lower";
  fs::create_directories(lower / "bin");
  spit(lower / "bin/tool", "lower tool");
  fs::permissions(lower / "bin", static_cast<fs::perms>(0711));
  fs::create_directories(lower / "o");
  fs::create_directories(lower / "etc");
  spit(lower / "etc/gone", "hidden by the layer");
  Tar t;
  t.dir("etc")
      .whiteout("etc", "gone")
      .whiteout("etc", "never-was")
      .dir("o")
      .opaque("o")
      .file("o/n", "n")
      .hardlink("link", "bin/tool");
  ApplyOptions o;
  o.whiteout_format = WhiteoutFormat::overlay;
  o.lowers = {lower};
  auto r = apply_blob(t.bytes(), s.root, o);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  auto w = lstat_of(s.root / "etc/gone");
  BOOST_TEST(S_ISCHR(w.st_mode));
  BOOST_TEST(w.st_rdev == makedev(0, 0));
  // A whiteout of a name no lower has writes nothing (overlayfs would list it in a directory
  // that only the upper has).
  BOOST_TEST(!fs::exists(fs::symlink_status(s.root / "etc/never-was")));
  char v[4];
  ssize_t n = lgetxattr((s.root / "o").c_str(), "trusted.overlay.opaque", v, sizeof v);
  BOOST_REQUIRE(n == 1);
  BOOST_TEST(v[0] == 'y');
  BOOST_TEST(slurp(s.root / "o/n") == "n");
  // The hardlink's target was copied up from the lower, parent with the lower's metadata.
  BOOST_TEST(slurp(s.root / "link") == "lower tool");
  BOOST_TEST(lstat_of(s.root / "link").st_ino == lstat_of(s.root / "bin/tool").st_ino);
  BOOST_TEST((lstat_of(s.root / "bin").st_mode & 07777) == 0711u);
  BOOST_TEST(slurp(lower / "bin/tool") == "lower tool");
  // The lower is untouched.
  BOOST_TEST(!fs::exists(lower / "link"));
}

// ---------- hostile layers: each refused or contained, the host untouched ----------

BOOST_AUTO_TEST_CASE(hostile_dotdot_name_is_refused) {
  Scratch s;
  Tar t;
  t.file("../outside/sentinel", "pwned");
  expect_invalid(apply_blob(t.bytes(), s.root));
  Tar t2;
  t2.file("a/../../outside/new", "pwned");
  expect_invalid(apply_blob(t2.bytes(), s.root));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_absolute_name_is_confined) {
  Scratch s;
  Tar t;
  std::string abs = (s.outside / "sentinel").string();
  t.file(abs, "pwned").file("/etc/passwd", "root-in-layer");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(slurp(s.root / fs::path(abs).relative_path()) == "pwned");
  BOOST_TEST(slurp(s.root / "etc/passwd") == "root-in-layer");
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_write_through_symlink_to_root_is_confined) {
  Scratch s;
  struct stat before {};
  BOOST_REQUIRE(stat("/etc/passwd", &before) == 0);  // read only: the host file is not a target
  Tar t;
  t.symlink("x", "/")
      .file("x/etc/passwd", "contained")
      .symlink("up", "../../..")
      .file("up/etc/shadowish", "contained");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(slurp(s.root / "etc/passwd") == "contained");
  BOOST_TEST(slurp(s.root / "etc/shadowish") == "contained");
  struct stat after {};
  BOOST_REQUIRE(stat("/etc/passwd", &after) == 0);
  BOOST_TEST(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  BOOST_TEST(after.st_size == before.st_size);
  BOOST_TEST(!fs::exists("/etc/shadowish"));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_write_through_symlink_to_sentinel_is_confined) {
  Scratch s;
  Tar t;
  // A symlink to the real outside dir, then writes, new dirs, a whiteout and an opaque
  // marker through it: all land (or find nothing) under the root.
  t.symlink("x", s.outside.string())
      .file("x/sentinel", "pwned")
      .file("x/newdir/file", "pwned")
      .symlink("y", s.outside.string())
      .whiteout("y", "sentinel")
      .opaque("y")
      .symlink("z", (s.outside / "sentinel").string())
      .file("z", "replaces the symlink, not its target");
  auto r = apply_blob(t.bytes(), s.root);
  BOOST_REQUIRE_MESSAGE(r, err(r));
  s.check_outside_untouched();
  BOOST_TEST(slurp(s.root / "z") == "replaces the symlink, not its target");
  BOOST_TEST(fs::is_symlink(s.root / "x"));
  // What went through x landed at the same path under the root.
  fs::path mirror = s.root / s.outside.relative_path();
  BOOST_TEST(slurp(mirror / "newdir/file") == "pwned");
  // ... and the whiteout through y removed that copy, not the host's.
  BOOST_TEST(!fs::exists(mirror / "sentinel"));
}

BOOST_AUTO_TEST_CASE(hostile_hardlink_outside_is_refused) {
  Scratch s;
  {
    Tar t;
    t.hardlink("h", "../outside/sentinel");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;  // absolute target: looked up under the root, where it is missing
    t.hardlink("h", (s.outside / "sentinel").string());
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;  // target through a symlink that points outside: resolved in the root
    t.symlink("x", s.outside.string()).hardlink("h", "x/sentinel");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;  // a host file by absolute path: never linked
    t.hardlink("h", "/etc/passwd");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  BOOST_TEST(lstat_of(s.outside / "sentinel").st_nlink == 1u);
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_hardlink_to_directory_or_missing_is_refused) {
  Scratch s;
  {
    Tar t;
    t.dir("d").hardlink("h", "d");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;
    t.hardlink("h", "nothing");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;
    t.symlink("s", "/").hardlink("h", "s");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_device_unprivileged_is_skipped) {
  Scratch s;
  Tar t;
  t.node("mem", AE_IFCHR, 1, 1).node("disk", AE_IFBLK, 8, 0);
  auto r = apply_blob(t.bytes(), s.root, {.create_devices = false});
  BOOST_REQUIRE_MESSAGE(r, err(r));
  BOOST_TEST(r->skipped_device_count == 2u);
  BOOST_TEST(fs::is_empty(s.root));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_absurd_size_is_refused_before_writing) {
  Scratch s;
  Tar t;
  t.file("big", std::string(4096, 'x'));
  ApplyOptions o;
  o.max_entry_size_bytes = 1024;
  expect_invalid(apply_blob(t.bytes(), s.root, o));
  BOOST_TEST(!fs::exists(s.root / "big"));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_gzip_bomb_is_refused_without_writing_it) {
  Scratch s;
  // 1 GB of zeros in one entry, about 1 MB of gzip: one member for the tar header, the same
  // member (1 MB of zeros) 1024 times, one for the end of the archive.
  Tar t;
  std::string header = t.header_only("zeros", 1ll << 30);
  BOOST_REQUIRE(header.size() == 512u);
  auto gz_of = [](const std::string& bytes) {
    auto z = image::compress_bytes(bytes, {.compression = Compression::gzip, .level = 9});
    BOOST_REQUIRE(z);
    return *z;
  };
  std::string chunk = gz_of(std::string(1 << 20, '\0'));
  std::string bomb = gz_of(header);
  for (int i = 0; i < 1024; ++i) bomb += chunk;
  bomb += gz_of(std::string(1024, '\0'));
  struct Holder {
    std::string str() const { return s; }
    std::string s;
  } gz{bomb};
  BOOST_TEST_MESSAGE("bomb: " << gz.str().size() << " bytes of gzip");
  BOOST_TEST(gz.str().size() < (2u << 20));
  ApplyOptions o;
  o.max_expanded_bytes = 100 << 20;
  expect_invalid(apply_blob(gz.str(), s.root, o));
  BOOST_TEST(!fs::exists(s.root / "zeros"));
  // With only a ratio bound, it stops while streaming, long before 1 GB.
  ApplyOptions ratio;
  ratio.max_ratio = 100;
  ratio.ratio_grace_bytes = 1 << 20;
  expect_invalid(apply_blob(gz.str(), s.root, ratio));
  struct stat st {};
  if (lstat((s.root / "zeros").c_str(), &st) == 0) BOOST_TEST(st.st_blocks * 512 < (100 << 20));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_many_small_entries_bomb_stops_while_streaming) {
  Scratch s;
  Tar t;
  std::string zeros(1 << 20, '\0');
  for (int i = 0; i < 40; ++i) t.file("z" + std::to_string(i), zeros);
  auto gz = image::compress_bytes(t.bytes(), {.compression = Compression::zstd});
  BOOST_REQUIRE(gz);
  ApplyOptions o;
  o.max_expanded_bytes = 10 << 20;
  expect_invalid(apply_blob(*gz, s.root, o));
  BOOST_TEST(!fs::exists(s.root / "z20"));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_garbage_and_truncated_tars_are_invalid) {
  Scratch s;
  expect_invalid(apply_blob(std::string(1000, 'g'), s.root));
  Tar t;
  t.file("f", std::string(10'000, 'x'));
  std::string tar = t.bytes();
  expect_invalid(apply_blob(tar.substr(0, 5000), s.root));
  auto gz = image::compress_bytes(tar, {.compression = Compression::gzip});
  BOOST_REQUIRE(gz);
  expect_invalid(apply_blob(gz->substr(0, gz->size() - 10), s.root));
  s.check_outside_untouched();
}

BOOST_AUTO_TEST_CASE(hostile_whiteout_names_are_refused_or_contained) {
  Scratch s;
  {
    Tar t;
    t.file("../.wh.outside", "");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;
    t.file(".wh.", "");
    expect_invalid(apply_blob(t.bytes(), s.root));
  }
  {
    Tar t;  // whiteout of the sentinel by absolute path: removes under the root only
    t.whiteout(s.outside.string(), "sentinel");
    auto r = apply_blob(t.bytes(), s.root);
    BOOST_REQUIRE_MESSAGE(r, err(r));
  }
  s.check_outside_untouched();
}
