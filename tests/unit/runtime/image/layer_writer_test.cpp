#include "runtime/image/layer_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

#define REQUIRE_OK(r) \
  BOOST_REQUIRE_MESSAGE((r).has_value(), ((r) ? std::string() : (r).error().to_string()))

namespace gantry::runtime::image {
namespace {

TarEntry make(std::string path, EntryType type, uint32_t mode = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.type = type;
  e.mode = mode;
  e.uid = 1000;
  e.gid = 100;
  e.mtime_s = 1700000000;
  return e;
}

struct Sample {
  std::vector<TarEntry> entries;
  std::vector<std::string> contents;  // per entry, regular files only
};

Sample every_type() {
  Sample s;
  auto add = [&](TarEntry e, std::string content = "") {
    e.size_bytes = e.type == EntryType::regular ? static_cast<int64_t>(content.size()) : 0;
    s.entries.push_back(std::move(e));
    s.contents.push_back(std::move(content));
  };
  TarEntry d = make("d", EntryType::directory, 0755);
  d.xattrs = {{"user.a", "1"}, {"user.b", std::string("\0\xff", 2)}};
  add(d);
  add(opaque_entry("d"));
  TarEntry f = make("d/file", EntryType::regular, 04755);
  f.xattrs = {{"user.z", "last"}, {"user.m", "middle"}, {"user.c", "first"}};
  add(f, "hello\n");
  TarEntry empty = make("d/empty", EntryType::regular, 0600);
  add(empty, "");
  TarEntry link = make("d/link", EntryType::hardlink);
  link.link_target = "d/file";
  add(link);
  TarEntry sym = make("d/sym", EntryType::symlink, 0777);
  sym.link_target = "../../outside/target";
  add(sym);
  add(make("d/fifo", EntryType::fifo, 0600));
  TarEntry chr = make("d/null", EntryType::char_device, 0666);
  chr.rdev_major = 1;
  chr.rdev_minor = 3;
  add(chr);
  TarEntry blk = make("d/blk", EntryType::block_device, 0660);
  blk.rdev_major = 8;
  blk.rdev_minor = 17;
  add(blk);
  add(whiteout_entry("d/gone"));
  std::string long_dir(120, 'x');
  add(make(long_dir, EntryType::directory, 0700));
  add(make(long_dir + "/" + std::string(200, 'y'), EntryType::regular), "long name\n");
  TarEntry big_ids = make("ids", EntryType::regular);
  big_ids.uid = 4000000000u;
  big_ids.gid = 3000000;
  add(big_ids, std::string(1000, 'z'));
  return s;
}

std::string write_sample(const Sample& s, WrittenLayer* written = nullptr) {
  std::string out;
  auto w = LayerWriter::open(string_sink(out));
  BOOST_REQUIRE(w);
  for (size_t i = 0; i < s.entries.size(); ++i) {
    const auto& e = s.entries[i];
    auto r = e.type == EntryType::regular ? (*w)->add_file(e, std::string_view(s.contents[i]))
                                          : (*w)->add(e);
    REQUIRE_OK(r);
  }
  auto fin = (*w)->finish();
  BOOST_REQUIRE(fin);
  if (written) *written = *fin;
  return out;
}

// What reading gives back for an entry: markers carry no metadata.
TarEntry expected_back(TarEntry e) {
  if (e.type == EntryType::whiteout || e.type == EntryType::opaque) {
    e.mode = e.uid = e.gid = 0;
    e.mtime_s = 0;
  }
  return e;
}

BOOST_AUTO_TEST_CASE(write_then_read_is_identity_for_every_entry_type) {
  Sample s = every_type();
  WrittenLayer written;
  std::string tar = write_sample(s, &written);
  BOOST_TEST(written.size_bytes == static_cast<int64_t>(tar.size()));
  BOOST_TEST(written.entry_count == static_cast<int64_t>(s.entries.size()));
  BOOST_TEST(written.diff_id == Digest::of(tar));
  BOOST_TEST(tar.size() % 512 == 0);
  BOOST_TEST(tar.substr(tar.size() - 1024) == std::string(1024, '\0'));

  auto back = read_tar_entries(tar);
  REQUIRE_OK(back);
  BOOST_REQUIRE_EQUAL(back->size(), s.entries.size());
  for (size_t i = 0; i < s.entries.size(); ++i) {
    const TarMember& m = (*back)[i];
    BOOST_TEST_CONTEXT(describe(s.entries[i])) {
      BOOST_TEST(describe(m.entry) == describe(expected_back(s.entries[i])));
      BOOST_TEST((m.entry == expected_back(s.entries[i])));
      if (m.entry.type == EntryType::regular) BOOST_TEST(m.content == s.contents[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(output_is_deterministic) {
  Sample s = every_type();
  BOOST_TEST(write_sample(s) == write_sample(s));
}

BOOST_AUTO_TEST_CASE(directories_end_with_slash_and_markers_are_zeroed) {
  Sample s;
  s.entries = {make("a", EntryType::directory, 0755), whiteout_entry("a/x")};
  s.entries[1].mode = 0777;  // ignored for markers
  s.entries[1].uid = 5;
  s.contents = {"", ""};
  std::string tar = write_sample(s);
  BOOST_TEST(tar.substr(0, 3) == std::string("a/\0", 3));
  // Second header: name, then mode, uid and gid all zero (libarchive: 6 octal digits).
  BOOST_TEST(tar.substr(512, 8) == std::string("a/.wh.x\0", 8));
  BOOST_TEST(tar.substr(512 + 100, 6) == "000000");
  BOOST_TEST(tar.substr(512 + 108, 6) == "000000");
  BOOST_TEST(tar.substr(512 + 116, 6) == "000000");
  BOOST_TEST(tar.substr(512 + 136, 11) == "00000000000");  // mtime
}

BOOST_AUTO_TEST_CASE(streams_content_from_fd) {
  testing::TempDir dir;
  std::string content;
  for (int i = 0; i < 300000; ++i) content += std::to_string(i % 10);
  content += content;  // ~3.6 MB, more than one chunk
  std::ofstream(dir / "big", std::ios::binary) << content;
  int fd = ::open((dir / "big").c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  TarEntry e = make("big", EntryType::regular);
  e.size_bytes = static_cast<int64_t>(content.size());
  std::string tar;
  int64_t sink_calls = 0;
  auto w = LayerWriter::open([&](std::span<const uint8_t> b) -> Result<void> {
    ++sink_calls;
    tar.append(reinterpret_cast<const char*>(b.data()), b.size());
    return ok();
  });
  BOOST_REQUIRE(w);
  auto r = (*w)->add_file(e, fd);
  ::close(fd);
  REQUIRE_OK(r);
  auto fin = (*w)->finish();
  BOOST_REQUIRE(fin);
  BOOST_TEST(fin->diff_id == Digest::of(tar));
  BOOST_TEST(sink_calls > 1);
  auto back = read_tar_entries(tar, 1 << 24);
  BOOST_REQUIRE(back);
  BOOST_REQUIRE_EQUAL(back->size(), 1u);
  BOOST_TEST(((*back)[0].content == content));
}

BOOST_AUTO_TEST_CASE(file_of_the_wrong_size_is_a_conflict) {
  testing::TempDir dir;
  std::ofstream(dir / "f") << "12345";
  for (int64_t size : {3, 9}) {
    int fd = ::open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC);
    TarEntry e = make("f", EntryType::regular);
    e.size_bytes = size;
    auto w = LayerWriter::open(null_sink());
    BOOST_REQUIRE(w);
    auto r = (*w)->add_file(e, fd);
    ::close(fd);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().kind() == ErrorKind::conflict);
  }
}

BOOST_AUTO_TEST_CASE(sink_error_stops_the_writer) {
  auto w = LayerWriter::open([](std::span<const uint8_t>) -> Result<void> {
    return Error(ErrorKind::unavailable, "disk full");
  });
  BOOST_REQUIRE(w);
  Sample s = every_type();
  Result<void> r;
  for (size_t i = 0; i < s.entries.size() && r; ++i) {
    const auto& e = s.entries[i];
    r = e.type == EntryType::regular ? (*w)->add_file(e, std::string_view(s.contents[i]))
                                     : (*w)->add(e);
  }
  auto fin = r ? (*w)->finish() : Result<WrittenLayer>(r.error());
  BOOST_REQUIRE(!fin);
  BOOST_TEST(fin.error().kind() == ErrorKind::unavailable);
}

BOOST_AUTO_TEST_CASE(gnu_tar_extracts_it) {
  if (!testing::require_root() || !testing::require_program("tar")) return;
  Sample s = every_type();
  std::string tar = write_sample(s);
  testing::TempDir dir;
  std::ofstream(dir / "layer.tar", std::ios::binary) << tar;
  std::filesystem::create_directory(dir / "out");
  std::string cmd = "tar --warning=no-unknown-keyword --xattrs --xattrs-include='user.*' -xpf " +
                    (dir / "layer.tar").string() + " -C " + (dir / "out").string();
  BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  auto out = dir.path() / "out";
  std::ifstream in(out / "d/file");
  std::stringstream ss;
  ss << in.rdbuf();
  BOOST_TEST(ss.str() == "hello\n");
  struct stat a, b;
  BOOST_REQUIRE(::stat((out / "d/file").c_str(), &a) == 0);
  BOOST_REQUIRE(::stat((out / "d/link").c_str(), &b) == 0);
  BOOST_TEST(a.st_ino == b.st_ino);
  BOOST_TEST((a.st_mode & 07777) == 04755u);
  BOOST_TEST(a.st_uid == 1000u);
  BOOST_TEST(a.st_mtime == 1700000000);
  BOOST_REQUIRE(::lstat((out / "d/null").c_str(), &a) == 0);
  BOOST_TEST(S_ISCHR(a.st_mode));
  BOOST_TEST(major(a.st_rdev) == 1u);
  BOOST_TEST(minor(a.st_rdev) == 3u);
  BOOST_TEST(std::filesystem::read_symlink(out / "d/sym") == "../../outside/target");
  BOOST_TEST(std::filesystem::exists(out / std::string(120, 'x') / std::string(200, 'y')));
  BOOST_TEST(std::filesystem::exists(out / "d/.wh.gone"));
  char value[16] = {};
  BOOST_TEST(getxattr((out / "d/file").c_str(), "user.m", value, sizeof value) == 6);
  BOOST_TEST(std::string(value) == "middle");
}

}  // namespace
}  // namespace gantry::runtime::image
