#include "runtime/registry/transfer/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <boost/test/unit_test.hpp>

#include "tests/support/temp_dir.h"
#include "tests/unit/runtime/registry/transfer/transfer_fixture.h"

using namespace gantry;
using namespace gantry::runtime::registry::transfer;
using gantry::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string drain(runtime::image::Source& s) {
  std::string out;
  uint8_t buf[4096];
  for (;;) {
    auto n = s.read(buf);
    BOOST_REQUIRE(n);
    if (*n == 0) return out;
    out.append(reinterpret_cast<char*>(buf), *n);
  }
}

// A tar written by hand (the legacy layout with a symlinked repeated layer).
void write_tar(const fs::path& path,
               const std::vector<std::tuple<std::string, std::string, std::string>>& members) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, path.c_str());
  for (const auto& [name, content, link] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    if (!link.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, link.c_str());
      archive_entry_set_perm(e, 0777);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    }
    archive_write_header(a, e);
    if (link.empty()) archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(docker_archive)

BOOST_AUTO_TEST_CASE(write_then_read_round_trips) {
  TempDir tmp;
  fs::path path = tmp / "img.tar";
  {
    auto w = DockerArchiveWriter::create(path);
    BOOST_REQUIRE(w);
    BOOST_REQUIRE(w->add_bytes("abc.json", "{\"x\":1}"));
    std::string layer(300000, 'L');
    runtime::image::BytesSource src(layer);
    BOOST_REQUIRE(w->add_stream("l1/layer.tar", layer.size(), src));
    BOOST_TEST(!fs::exists(path));  // nothing visible before finish
    BOOST_REQUIRE(w->finish({{"abc.json", {"example.com/app:v1"}, {"l1/layer.tar"}}}));
  }
  auto r = DockerArchiveReader::open(path);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  BOOST_REQUIRE_EQUAL(r->images().size(), 1u);
  BOOST_TEST(r->images()[0].config == "abc.json");
  BOOST_TEST(r->images()[0].layers == std::vector<std::string>{"l1/layer.tar"});
  BOOST_TEST(r->images()[0].repo_tags == std::vector<std::string>{"example.com/app:v1"});
  BOOST_TEST(*r->read_member("abc.json") == "{\"x\":1}");
  BOOST_TEST(*r->member_size("l1/layer.tar") == 300000u);
  auto s = r->open_member("l1/layer.tar");
  BOOST_REQUIRE(s);
  BOOST_TEST(drain(**s) == std::string(300000, 'L'));
  BOOST_TEST(*r->select("") == 0u);
  BOOST_TEST(*r->select("example.com/app:v1") == 0u);
  BOOST_TEST(*r->select("@0") == 0u);
  BOOST_TEST(r->select("other:v1").error().kind() == ErrorKind::not_found);
  BOOST_TEST(r->select("@1").error().kind() == ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(a_dropped_writer_leaves_nothing) {
  TempDir tmp;
  {
    auto w = DockerArchiveWriter::create(tmp / "x.tar");
    BOOST_REQUIRE(w);
    BOOST_REQUIRE(w->add_bytes("a.json", "{}"));
  }
  BOOST_TEST(fs::is_empty(tmp.path()));
}

BOOST_AUTO_TEST_CASE(short_stream_is_an_error_naming_the_member) {
  TempDir tmp;
  auto w = DockerArchiveWriter::create(tmp / "x.tar");
  BOOST_REQUIRE(w);
  runtime::image::BytesSource src("short");
  auto r = w->add_stream("l/layer.tar", 100, src);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message().find("l/layer.tar") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reads_legacy_layout_with_symlinked_layer_and_short_tags) {
  TempDir tmp;
  fs::path path = tmp / "legacy.tar";
  std::string manifest =
      R"([{"Config":"cfg.json","RepoTags":["busybox:latest"],"Layers":["a/layer.tar","b/layer.tar"]}])";
  write_tar(path, {{"a/layer.tar", "AAAA", ""},
                   {"b/layer.tar", "", "../a/layer.tar"},
                   {"cfg.json", "{}", ""},
                   {"manifest.json", manifest, ""}});
  auto r = DockerArchiveReader::open(path);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  BOOST_TEST(*r->member_size("b/layer.tar") == 4u);
  auto s = r->open_member("./b/layer.tar");
  BOOST_REQUIRE(s);
  BOOST_TEST(drain(**s) == "AAAA");
  BOOST_TEST(*r->select("docker.io/library/busybox:latest") == 0u);
  BOOST_TEST(*r->select("busybox") == 0u);
}

BOOST_AUTO_TEST_CASE(bad_archives_refused) {
  TempDir tmp;
  write_tar(tmp / "nomanifest.tar", {{"x", "y", ""}});
  auto a = DockerArchiveReader::open(tmp / "nomanifest.tar");
  BOOST_REQUIRE(!a);
  BOOST_TEST(a.error().kind() == ErrorKind::invalid_argument);
  write_tar(tmp / "badjson.tar", {{"manifest.json", "{", ""}});
  BOOST_TEST(DockerArchiveReader::open(tmp / "badjson.tar").error().kind() ==
             ErrorKind::invalid_argument);
  write_tar(tmp / "missing.tar",
            {{"manifest.json", R"([{"Config":"c.json","Layers":["l.tar"]}])", ""}});
  auto m = DockerArchiveReader::open(tmp / "missing.tar");
  BOOST_REQUIRE(!m);
  BOOST_TEST(m.error().kind() == ErrorKind::not_found);
  BOOST_TEST(m.error().message().find("c.json") != std::string::npos);
  BOOST_TEST(DockerArchiveReader::open(tmp / "absent.tar").error().kind() == ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(normalizes_repo_tags) {
  BOOST_TEST(normalize_repo_tag("busybox") == "busybox:latest");
  BOOST_TEST(normalize_repo_tag("docker.io/library/busybox:1") == "busybox:1");
  BOOST_TEST(normalize_repo_tag("library/busybox:1") == "busybox:1");
  BOOST_TEST(normalize_repo_tag("localhost:5000/x") == "localhost:5000/x:latest");
  BOOST_TEST(normalize_repo_tag("localhost:5000/x:v2") == "localhost:5000/x:v2");
}

BOOST_AUTO_TEST_SUITE_END()
