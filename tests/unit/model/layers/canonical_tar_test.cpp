// The model's tar writer beside libarchive fed per docs/layers.md: the bytes must match.
#include "model/layers/canonical_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <rapidcheck/boost_test.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/layers/generators.h"

using namespace gantry;
using namespace gantry::model::layers;

namespace {

la_ssize_t append(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

void fill(struct archive_entry* ae, const Entry& e) {
  archive_entry_set_pathname(ae, e.tar_name().c_str());
  const Node& n = e.node;
  if (e.kind == EntryKind::whiteout || e.kind == EntryKind::opaque) {
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_mtime(ae, 0, 0);
    archive_entry_set_size(ae, 0);
    return;
  }
  if (e.kind == EntryKind::hardlink) {
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_hardlink(ae, e.link_target.c_str());
  }
  static const unsigned kTypes[] = {AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR, AE_IFBLK};
  if (e.kind == EntryKind::upsert) archive_entry_set_filetype(ae, kTypes[int(n.type)]);
  archive_entry_set_perm(ae, n.mode);
  archive_entry_set_uid(ae, n.uid);
  archive_entry_set_gid(ae, n.gid);
  archive_entry_set_mtime(ae, n.mtime, 0);
  if (e.kind == EntryKind::hardlink) {
    archive_entry_set_size(ae, 0);
    return;
  }
  if (n.type == NodeType::regular) archive_entry_set_size(ae, int64_t(n.content.size()));
  if (n.type == NodeType::symlink) archive_entry_set_symlink(ae, n.target.c_str());
  if (n.type == NodeType::char_device || n.type == NodeType::block_device) {
    archive_entry_set_rdevmajor(ae, n.major);
    archive_entry_set_rdevminor(ae, n.minor);
  }
  for (const auto& [name, value] : n.xattrs)
    archive_entry_xattr_add_entry(ae, name.c_str(), value.data(), value.size());
}

std::string libarchive_tar(const Changeset& c) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  BOOST_REQUIRE(archive_write_open(a, &out, nullptr, append, nullptr) == ARCHIVE_OK);
  for (const auto& e : c.entries) {
    struct archive_entry* ae = archive_entry_new();
    fill(ae, e);
    int r = archive_write_header(a, ae);
    BOOST_REQUIRE_MESSAGE(r == ARCHIVE_OK, "libarchive: " << archive_error_string(a));
    if (e.kind == EntryKind::upsert && e.node.is_regular() && !e.node.content.empty())
      archive_write_data(a, e.node.content.data(), e.node.content.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// "" when equal, else where and how they differ.
std::string compare(const std::string& ours, const std::string& theirs) {
  if (ours == theirs) return "";
  size_t i = 0;
  while (i < ours.size() && i < theirs.size() && ours[i] == theirs[i]) ++i;
  std::ostringstream os;
  os << "sizes " << ours.size() << " vs " << theirs.size() << ", first difference at " << i
     << " (block " << i / 512 << ", offset " << i % 512 << ")\n";
  auto dump = [&](const std::string& s) {
    size_t from = i - i % 512;
    for (size_t k = from; k < from + 512 && k < s.size(); ++k) {
      unsigned char ch = s[k];
      os << (ch >= 32 && ch < 127 ? char(ch) : '.');
    }
    os << "\n";
  };
  os << "ours:   ";
  dump(ours);
  os << "theirs: ";
  dump(theirs);
  return os.str();
}

void check_same(const Changeset& c) {
  auto ours = canonical_tar(c);
  if (!ours) BOOST_FAIL(ours.error().to_string());
  std::string diff = compare(*ours, libarchive_tar(c));
  BOOST_TEST(diff.empty(), c << diff);
}

Node with(Node n, uint32_t uid, uint32_t gid, int64_t mtime) {
  n.uid = uid;
  n.gid = gid;
  n.mtime = mtime;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_entry_type_matches_libarchive) {
  Node f = with(Node::file("hello\n", 04755), 1000, 100, 1700000000);
  Changeset c;
  c.entries = {
      Entry::upsert("dir", with(Node::dir(01777), 0, 0, 1600000000)),
      Entry::opaque("dir"),
      Entry::upsert("dir/.hidden", Node::file(std::string(1500, 'z'))),
      Entry::upsert("dir/blk", Node::block_device(8, 1)),
      Entry::upsert("dir/chr", Node::char_device(1, 3, 0666)),
      Entry::upsert("dir/fifo", Node::fifo()),
      Entry::upsert("dir/file", f),
      Entry::hardlink("dir/link", "dir/file", f),
      Entry::upsert("dir/sym", Node::symlink("../../../etc/passwd")),
      Entry::whiteout("dir/gone"),
      Entry::upsert("empty", Node::file("")),
  };
  c.sort();
  check_same(c);
}

BOOST_AUTO_TEST_CASE(xattrs_match_libarchive) {
  Node f = Node::file("x");
  f.xattrs = {{"user.b", "xy"},
              {"user.a a=%", std::string("\0\1", 2)},
              {"user.c", ""},
              {"user.\xc3\xa9", "caf\xc3\xa9\n"}};
  Node d = Node::dir();
  d.xattrs = {{"user.one", "1"}};
  Node s = Node::symlink("t");
  s.xattrs = {{"user.s", std::string(300, 's')}};
  Changeset c;
  c.entries = {Entry::upsert("d", d), Entry::upsert("d/f", f), Entry::upsert("d/s", s)};
  check_same(c);
}

BOOST_AUTO_TEST_CASE(long_names_and_targets_match_libarchive) {
  std::string a99(99, 'a'), b120(120, 'b'), c60(60, 'c');
  Changeset c;
  c.entries = {
      Entry::upsert(a99, Node::dir()),              // 100 with the '/'
      Entry::upsert(a99 + "/" + c60, Node::dir()),  // splits into prefix and name
      Entry::upsert(a99 + "/" + c60 + "/" + b120, Node::file("long")),  // pax path
      Entry::upsert(b120, Node::dir()),                                 // a directory needing pax
      Entry::upsert(std::string(170, 'p') + "/" + c60, Node::fifo()),   // prefix over 155
      Entry::upsert("l", Node::symlink(std::string(150, 't'))),         // pax linkpath
      Entry::hardlink("h", a99 + "/" + c60 + "/" + b120, Node::file("")),
      Entry::whiteout(a99 + "/" + b120),
  };
  check_same(c);
}

BOOST_AUTO_TEST_CASE(large_numbers_match_libarchive) {
  Changeset c;
  c.entries = {
      Entry::upsert("a", with(Node::file("x"), 262143, 262144, 0x7ffffffe)),
      Entry::upsert("b", with(Node::file("x"), 2097152, 16777216, 0x7fffffff)),
      Entry::upsert("c", with(Node::file("x"), 4294967294u, 0, -5)),
      Entry::upsert("d", with(Node::char_device(300000, 5000000), 0, 0, int64_t{1} << 33)),
      Entry::upsert("e", with(Node::block_device(262144, 262143), 0, 0, 1)),
  };
  check_same(c);
}

BOOST_AUTO_TEST_CASE(non_ascii_names_are_not_implemented) {
  Changeset c;
  c.entries = {Entry::upsert("caf\xc3\xa9", Node::file("x"))};
  auto r = canonical_tar(c);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().kind() == ErrorKind::not_implemented);
}

RC_BOOST_PROP(random_changesets_match_libarchive, ()) {
  testing::layers::TreeGenOptions o;
  o.devices = true;
  o.long_names = true;
  o.odd_numbers = true;
  Changeset c = *testing::layers::gen_changeset(o);
  auto ours = canonical_tar(c);
  RC_ASSERT(ours.has_value());
  std::string diff = compare(*ours, libarchive_tar(c));
  if (!diff.empty()) {
    if (std::getenv("GANTRY_DUMP")) {
      std::ofstream(std::string(std::getenv("GANTRY_DUMP")) + ".ours") << *ours;
      std::ofstream(std::string(std::getenv("GANTRY_DUMP")) + ".theirs") << libarchive_tar(c);
    }
    RC_FAIL((std::ostringstream() << c << diff).str());
  }
}

RC_BOOST_PROP(tar_then_read_is_identity, ()) {
  testing::layers::TreeGenOptions o;
  o.devices = true;
  o.long_names = true;
  o.odd_numbers = true;
  Changeset c = *testing::layers::gen_changeset(o);
  auto bytes = canonical_tar(c);
  RC_ASSERT(bytes.has_value());
  auto back = read_tar(*bytes);
  if (!back) RC_FAIL(back.error().to_string());
  RC_ASSERT(*back == c);
}

// Names around the ustar limits (100 name, 155 prefix), where libarchive shortens names.
RC_BOOST_PROP(long_names_match_libarchive, ()) {
  int depth = *rc::gen::inRange(1, 5);
  std::string path;
  for (int k = 0; k < depth; ++k) {
    int len = *rc::gen::inRange(1, 170);
    path = join_path(path, std::string(size_t(len), char('a' + k)));
  }
  Node n = *rc::gen::element(Node::file("x"), Node::dir(), Node::symlink(std::string(101, 't')));
  if (*rc::gen::arbitrary<bool>()) n.uid = 1 << 20;  // forces a pax header
  Changeset c;
  c.entries = {Entry::upsert(path, n), Entry::whiteout(path + "x"),
               Entry::hardlink(path + "y", path, Node::file(""))};
  auto ours = canonical_tar(c);
  RC_ASSERT(ours.has_value());
  std::string diff = compare(*ours, libarchive_tar(c));
  if (!diff.empty()) RC_FAIL((std::ostringstream() << c << diff).str());
}
