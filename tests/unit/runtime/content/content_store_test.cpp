// Unit tests of the filesystem ContentStore: what the conformance suite does not cover
// (ingest_fd paths, early size refusal, corruption, live writers vs clean_ingests, layout).
#include "runtime/content/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <string>

#include "runtime/sys/fs.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using gantry::Digest;
using gantry::ErrorKind;
using gantry::runtime::content::ContentStore;
using gantry::runtime::sys::UniqueFd;

namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return s;
}

size_t count_files(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(open_creates_oci_blob_layout) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  BOOST_TEST(fs::is_directory(tmp / "s" / "blobs" / "sha256"));
  auto d = store->write_blob("hello");
  BOOST_REQUIRE(d);
  BOOST_TEST(store->path_of(*d) == tmp / "s" / "blobs" / "sha256" / d->hex());
  BOOST_TEST(fs::file_size(store->path_of(*d)) == 5u);
  // blobs are readable by others, as in an OCI layout
  BOOST_TEST(
      ((fs::status(store->path_of(*d)).permissions() & fs::perms::others_read) != fs::perms::none));
}

BOOST_AUTO_TEST_CASE(ingest_fd_from_regular_file_and_pipe) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  std::string data = pattern(3 * 1024 * 1024 + 17);
  { std::ofstream(tmp / "src", std::ios::binary) << data; }
  UniqueFd src(::open((tmp / "src").c_str(), O_RDONLY | O_CLOEXEC));
  BOOST_REQUIRE(src);
  auto d = store->ingest_fd(src.get(), Digest::of(data), static_cast<int64_t>(data.size()));
  BOOST_REQUIRE_MESSAGE(d.has_value(), (d ? std::string() : d.error().to_string()));
  BOOST_TEST(*d == Digest::of(data));
  auto back = store->read_blob(*d);
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == data));

  // From the middle of a file: the current offset is where the copy starts.
  UniqueFd src2(::open((tmp / "src").c_str(), O_RDONLY | O_CLOEXEC));
  BOOST_REQUIRE(::lseek(src2.get(), 100, SEEK_SET) == 100);
  auto d2 = store->ingest_fd(src2.get());
  BOOST_REQUIRE(d2);
  BOOST_TEST(*d2 == Digest::of(std::string_view(data).substr(100)));

  int p[2];
  BOOST_REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd rd(p[0]), wr(p[1]);
  std::string small = pattern(4000);
  BOOST_REQUIRE(gantry::runtime::sys::write_all(wr.get(), small));
  wr.reset();
  auto d3 = store->ingest_fd(rd.get(), Digest::of(small));
  BOOST_REQUIRE(d3);
  BOOST_TEST(store->contains(*d3));
  BOOST_TEST(count_files(tmp / "s" / "ingest") == 0u);
}

BOOST_AUTO_TEST_CASE(ingest_fd_refuses_longer_than_expected) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  std::string data = pattern(10000);
  { std::ofstream(tmp / "src", std::ios::binary) << data; }
  UniqueFd src(::open((tmp / "src").c_str(), O_RDONLY | O_CLOEXEC));
  auto d = store->ingest_fd(src.get(), std::nullopt, 5000);
  BOOST_REQUIRE(!d);
  BOOST_TEST(d.error().kind() == ErrorKind::invalid_argument);
  auto u = store->usage();
  BOOST_REQUIRE(u);
  BOOST_TEST(u->blob_count == 0);
  BOOST_TEST(count_files(tmp / "s" / "ingest") == 0u);
}

BOOST_AUTO_TEST_CASE(write_beyond_expected_size_fails_at_once) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  auto w = store->ingest(std::nullopt, 3);
  BOOST_REQUIRE(w);
  BOOST_REQUIRE(w->write("ab"));
  auto r = w->write("cd");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(!fs::exists(w->temp_path()));
  auto c = w->commit();
  BOOST_REQUIRE(!c);
  BOOST_TEST(c.error().kind() == ErrorKind::failed_precondition);
}

BOOST_AUTO_TEST_CASE(read_blob_detects_corruption) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  auto d = store->write_blob("original");
  BOOST_REQUIRE(d);
  fs::permissions(store->path_of(*d), fs::perms::owner_write, fs::perm_options::add);
  { std::ofstream(store->path_of(*d), std::ios::binary | std::ios::trunc) << "tampered"; }
  auto r = store->read_blob(*d);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::internal);
  BOOST_TEST(r.error().message().find(d->str()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(read_blob_bounds_size) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  auto d = store->write_blob(pattern(1000));
  BOOST_REQUIRE(d);
  auto r = store->read_blob(*d, 999);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(store->read_blob(*d, 1000).has_value());
}

BOOST_AUTO_TEST_CASE(missing_blob_is_not_found) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  Digest d = Digest::of("absent");
  BOOST_TEST(!store->contains(d));
  BOOST_TEST(store->open_blob(d).error().kind() == ErrorKind::not_found);
  BOOST_TEST(store->read_blob(d).error().kind() == ErrorKind::not_found);
  BOOST_TEST(store->stat(d).error().kind() == ErrorKind::not_found);
  BOOST_TEST(store->remove(d).error().kind() == ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(clean_ingests_spares_live_writers) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  auto w = store->ingest();
  BOOST_REQUIRE(w);
  BOOST_REQUIRE(w->write("in progress"));
  // A stale file, as a crashed writer leaves it (nobody holds its lock).
  { std::ofstream(tmp / "s" / "ingest" / "abcdef.ingest") << "stale"; }
  auto removed = store->clean_ingests();
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 1);
  BOOST_TEST(fs::exists(w->temp_path()));
  auto d = w->commit();
  BOOST_REQUIRE(d);
  BOOST_TEST(*d == Digest::of("in progress"));
}

BOOST_AUTO_TEST_CASE(walk_skips_foreign_names) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  BOOST_REQUIRE(store->write_blob("x"));
  { std::ofstream(tmp / "s" / "blobs" / "sha256" / "README") << "not a blob"; }
  auto u = store->usage();
  BOOST_REQUIRE(u);
  BOOST_TEST(u->blob_count == 1);
  BOOST_TEST(u->size_bytes == 1);
}

BOOST_AUTO_TEST_CASE(ingest_dir_elsewhere) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s", {.ingest_dir = tmp / "work"});
  BOOST_REQUIRE(store);
  auto w = store->ingest();
  BOOST_REQUIRE(w);
  BOOST_TEST(w->temp_path().parent_path() == tmp / "work");
  BOOST_TEST(!fs::exists(tmp / "s" / "ingest"));
  BOOST_REQUIRE(w->write("elsewhere"));
  BOOST_REQUIRE(w->commit());
  BOOST_TEST(store->contains(Digest::of("elsewhere")));
}

BOOST_AUTO_TEST_CASE(invalid_expectations_refused) {
  gantry::testing::TempDir tmp;
  auto store = ContentStore::open(tmp / "s");
  BOOST_REQUIRE(store);
  BOOST_TEST(store->ingest(Digest{}).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(store->ingest(std::nullopt, -1).error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(write_file_atomic_replaces) {
  gantry::testing::TempDir tmp;
  BOOST_REQUIRE(gantry::runtime::sys::write_file_atomic(tmp.path(), "f", "one"));
  BOOST_REQUIRE(gantry::runtime::sys::write_file_atomic(tmp.path(), "f", "two!"));
  std::ifstream in(tmp / "f");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  BOOST_TEST(s == "two!");
  BOOST_TEST(count_files(tmp.path()) == 1u);
}
