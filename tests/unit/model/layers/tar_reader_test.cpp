// The model's tar reader: what it accepts from other tools, what it refuses.
#include <boost/test/unit_test.hpp>
#include <cstdio>

#include "model/layers/canonical_tar.h"

using namespace gantry;
using namespace gantry::model::layers;

BOOST_AUTO_TEST_CASE(reads_whiteouts_opaque_and_links) {
  Changeset c;
  Node f = Node::file("data");
  c.entries = {Entry::upsert("d", Node::dir()), Entry::opaque("d"), Entry::upsert("d/f", f),
               Entry::hardlink("d/g", "d/f", f), Entry::whiteout("d/x")};
  auto bytes = canonical_tar(c);
  BOOST_REQUIRE(bytes);
  auto back = read_tar(*bytes);
  BOOST_REQUIRE(back);
  BOOST_TEST(*back == c);
  BOOST_TEST(*diff_id(c) == Digest::of(*bytes));
}

BOOST_AUTO_TEST_CASE(rejects_malformed_input) {
  Changeset c;
  c.entries = {Entry::upsert("f", Node::file("data"))};
  std::string bytes = *canonical_tar(c);
  std::string bad_sum = bytes;
  bad_sum[0] = 'g';
  BOOST_TEST(read_tar(bad_sum).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(read_tar(bytes.substr(0, 700)).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(read_tar(bytes.substr(0, 1024)).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(read_tar("").error().kind() == ErrorKind::invalid_argument);
  Changeset dots;
  dots.entries = {Entry::upsert("a", Node::file(""))};
  std::string evil = *canonical_tar(dots);
  evil[0] = '.';  // ".": the root: skipped, not an error
  // Recompute nothing: the checksum no longer matches, which must be refused.
  BOOST_TEST(!read_tar(evil));
}

BOOST_AUTO_TEST_CASE(strips_leading_dot_slash_and_skips_the_root) {
  // A hand-made ustar archive: "./" (root) then "./etc/" (directory).
  auto header = [](std::string name, char type) {
    std::string h(512, '\0');
    name.copy(h.data(), name.size());
    std::string("0000755").copy(h.data() + 100, 7);
    std::string("0000000").copy(h.data() + 108, 7);
    std::string("0000000").copy(h.data() + 116, 7);
    std::string("00000000000").copy(h.data() + 124, 11);
    std::string("00000000001").copy(h.data() + 136, 11);
    h[156] = type;
    std::string(
        "ustar\0"
        "00",
        8)
        .copy(h.data() + 257, 8);
    std::string(8, ' ').copy(h.data() + 148, 8);
    unsigned sum = 0;
    for (unsigned char ch : h) sum += ch;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06o", sum);
    std::string(buf, 6).copy(h.data() + 148, 6);
    h[154] = '\0';
    return h;
  };
  std::string tar = header("./", '5') + header("./etc/", '5') + std::string(1024, '\0');
  auto c = read_tar(tar);
  BOOST_REQUIRE_MESSAGE(c, (c ? "" : c.error().to_string()));
  BOOST_REQUIRE_EQUAL(c->entries.size(), 1u);
  BOOST_TEST(c->entries[0].path == "etc");
  BOOST_TEST(c->entries[0].node.mtime == 1);
  std::string dotdot = header("../x", '0') + std::string(1024, '\0');
  BOOST_TEST(read_tar(dotdot).error().kind() == ErrorKind::invalid_argument);
}
