// RegistryStore beyond the conformance suite: the streaming forms (open_blob, begin_chunk and
// ChunkWriter), what a reopen keeps and drops, the deletion and manifest-limit options, and
// gc's rules (grace, references, links of collected blobs).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "runtime/registry/store/registry_store.h"
#include "tests/conformance/registry/registry_fixtures.h"
#include "tests/conformance/registry/store/temp_store.h"

using namespace gantry;
using gantry::runtime::registry::StoreOptions;
namespace fx = gantry::testing::registry;
using Code = api::RegistryErrorCode;

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string read_fd(int fd, uint64_t size) {
  std::string out(size, '\0');
  BOOST_REQUIRE_EQUAL(::pread(fd, out.data(), size, 0), static_cast<ssize_t>(size));
  return out;
}

StoreOptions quick() {
  return StoreOptions{.durable = false};
}

// Pushes config + one layer and an image manifest tagged `tag`; returns its digest.
std::string push_image(api::Registry& r, const std::string& repo, const std::string& layer,
                       const std::string& tag) {
  fx::ImageSpec spec;
  spec.layers = {layer};
  auto m = fx::push_image(r, repo, spec, tag);
  BOOST_REQUIRE(m.has_value());
  return m->digest.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_store)

BOOST_AUTO_TEST_CASE(streamed_chunks_commit_and_open_for_sendfile) {
  fx::TempStore t;
  auto& s = t.store();
  std::string bytes = fx::blob_bytes(1, 300000);
  auto up = s.start_upload("a/b");
  BOOST_REQUIRE(up.has_value());
  auto w = s.begin_chunk("a/b", up->session, 0, bytes.size());
  BOOST_REQUIRE(w.has_value());
  for (size_t at = 0; at < bytes.size(); at += 7001)
    BOOST_REQUIRE((*w)->write(as_bytes(std::string_view(bytes).substr(at, 7001))).has_value());
  auto status = (*w)->finish();
  BOOST_REQUIRE(status.has_value());
  BOOST_CHECK_EQUAL(status->offset_bytes, bytes.size());
  auto done = s.complete_upload("a/b", up->session, fx::digest_of(bytes), "");
  BOOST_REQUIRE(done.has_value());
  auto blob = s.open_blob("a/b", fx::digest_of(bytes));
  BOOST_REQUIRE(blob.has_value());
  BOOST_CHECK_EQUAL(blob->size_bytes, bytes.size());
  BOOST_CHECK(read_fd(blob->fd.get(), blob->size_bytes) == bytes);
  BOOST_CHECK(s.open_blob("other", fx::digest_of(bytes)).error().code() == Code::blob_unknown);
}

// Chunks past the first MiB are hashed by a thread reading the data file behind the writes:
// the digest must come out the same across chunk boundaries, after a dropped big chunk (whose
// bytes the hasher had seen) and with writes of odd sizes.
BOOST_AUTO_TEST_CASE(big_chunks_hashed_behind_the_writes_give_the_right_digest) {
  fx::TempStore t;
  auto& s = t.store();
  std::string bytes = fx::blob_bytes(7, (3u << 20) + 7 + (5u << 19));
  size_t first = (3u << 20) + 7;
  auto write_chunk = [&](const std::string& session, uint64_t at, std::string_view part,
                         bool finish) {
    auto w = s.begin_chunk("big", session, at, part.size());
    BOOST_REQUIRE(w.has_value());
    for (size_t i = 0; i < part.size(); i += 65521)
      BOOST_REQUIRE((*w)->write(as_bytes(part.substr(i, 65521))).has_value());
    if (finish) BOOST_REQUIRE((*w)->finish().has_value());
  };
  // Two big chunks; then a wrong digest is refused and the right one accepted.
  auto up = s.start_upload("big");
  BOOST_REQUIRE(up.has_value());
  write_chunk(up->session, 0, std::string_view(bytes).substr(0, first), true);
  write_chunk(up->session, first, std::string_view(bytes).substr(first), true);
  auto wrong = s.complete_upload("big", up->session, fx::digest_of(bytes + "x"), "");
  BOOST_CHECK(wrong.error().code() == Code::digest_invalid);
  auto up2 = s.start_upload("big");
  write_chunk(up2->session, 0, std::string_view(bytes).substr(0, first), true);
  // A big chunk of garbage the client abandons: the hasher saw it, the session must not.
  std::string garbage = fx::blob_bytes(8, 3u << 20);
  write_chunk(up2->session, first, garbage, false);
  BOOST_CHECK_EQUAL(s.upload_status("big", up2->session)->offset_bytes, first);
  write_chunk(up2->session, first, std::string_view(bytes).substr(first), true);
  auto done = s.complete_upload("big", up2->session, fx::digest_of(bytes), "");
  BOOST_REQUIRE(done.has_value());
  auto blob = s.open_blob("big", fx::digest_of(bytes));
  BOOST_REQUIRE(blob.has_value());
  BOOST_CHECK(read_fd(blob->fd.get(), blob->size_bytes) == bytes);
  // One chunk of the whole blob, completed in the same request as the last bytes.
  auto up3 = s.start_upload("big3");
  auto w = s.begin_chunk("big3", up3->session, 0, bytes.size());
  BOOST_REQUIRE(w.has_value());
  BOOST_REQUIRE((*w)->write(as_bytes(bytes)).has_value());
  BOOST_REQUIRE((*w)->finish_for_completion().has_value());
  BOOST_REQUIRE(s.complete_upload("big3", up3->session, fx::digest_of(bytes), "").has_value());
}

BOOST_AUTO_TEST_CASE(an_unfinished_chunk_leaves_the_acknowledged_offset) {
  fx::TempStore t;
  auto& s = t.store();
  std::string bytes = fx::blob_bytes(2, 5000);
  auto up = s.start_upload("r");
  BOOST_REQUIRE(s.upload_chunk("r", up->session, 0, bytes.substr(0, 1000)).has_value());
  {
    auto w = s.begin_chunk("r", up->session, 1000, std::nullopt);
    BOOST_REQUIRE(w.has_value());
    BOOST_REQUIRE((*w)->write(as_bytes("garbage that never gets acknowledged")).has_value());
    // Only one chunk at a time.
    auto second = s.begin_chunk("r", up->session, 1000, std::nullopt);
    BOOST_CHECK(second.error().code() == Code::blob_upload_invalid);
  }  // the client went away
  BOOST_CHECK_EQUAL(s.upload_status("r", up->session)->offset_bytes, 1000u);
  // A chunk whose length disagrees with Content-Length is refused; the session stays.
  {
    auto w = s.begin_chunk("r", up->session, 1000, 10);
    BOOST_REQUIRE((*w)->write(as_bytes("12345")).has_value());
    auto f = (*w)->finish();
    BOOST_CHECK(f.error().code() == Code::blob_upload_invalid);
  }
  BOOST_CHECK_EQUAL(s.upload_status("r", up->session)->offset_bytes, 1000u);
  auto done = s.complete_upload("r", up->session, fx::digest_of(bytes), bytes.substr(1000));
  BOOST_REQUIRE(done.has_value());
  BOOST_CHECK(s.get_blob("r", fx::digest_of(bytes), std::nullopt)->bytes == bytes);
}

BOOST_AUTO_TEST_CASE(cancel_during_a_chunk_ends_the_session) {
  fx::TempStore t;
  auto& s = t.store();
  auto up = s.start_upload("r");
  auto begun = s.begin_chunk("r", up->session, 0, std::nullopt);
  BOOST_REQUIRE(begun.has_value());
  auto w = std::move(begun).value();
  BOOST_REQUIRE(w->write(as_bytes("some bytes")).has_value());
  BOOST_REQUIRE(s.cancel_upload("r", up->session).has_value());
  BOOST_CHECK(w->write(as_bytes("more")).has_value());
  BOOST_CHECK(w->finish().error().code() == Code::blob_upload_unknown);
  w.reset();
  BOOST_CHECK(s.upload_status("r", up->session).error().code() == Code::blob_upload_unknown);
  BOOST_CHECK(std::filesystem::is_empty(t.dir() / "root/uploads"));
}

BOOST_AUTO_TEST_CASE(a_chunk_at_the_wrong_offset_is_416_and_keeps_the_session) {
  fx::TempStore t;
  auto& s = t.store();
  auto up = s.start_upload("r");
  BOOST_REQUIRE(s.upload_chunk("r", up->session, 0, "abc").has_value());
  auto bad = s.begin_chunk("r", up->session, 2, std::nullopt);
  BOOST_CHECK(bad.error().code() == Code::range_invalid);
  BOOST_CHECK_EQUAL(bad.error().http_status(), 416);
  BOOST_CHECK_EQUAL(s.upload_status("r", up->session)->offset_bytes, 3u);
  BOOST_CHECK(*s.session_repository(up->session) == "r");
  BOOST_CHECK(s.session_repository("nope").error().code() == Code::blob_upload_unknown);
  BOOST_CHECK(s.begin_chunk("other", up->session, 3, std::nullopt).error().code() ==
              Code::blob_upload_unknown);
}

BOOST_AUTO_TEST_CASE(a_reopen_keeps_what_was_acknowledged_and_resumes_sessions) {
  fx::TempStore t;
  std::string layer = fx::blob_bytes(3, 4096);
  std::string m = push_image(t, "lib/x", layer, "v1");
  std::string big = fx::blob_bytes(4, 100000);
  auto up = t.store().start_upload("lib/x");
  BOOST_REQUIRE(t.store().upload_chunk("lib/x", up->session, 0, big.substr(0, 60000)));
  // A chunk in flight when the process stops: its bytes are past the acknowledged offset.
  auto begun = t.store().begin_chunk("lib/x", up->session, 60000, std::nullopt);
  BOOST_REQUIRE(begun.has_value());
  auto w = std::move(begun).value();
  BOOST_REQUIRE(w->write(as_bytes(big.substr(60000, 100))).has_value());
  // Temp files of writes that never got renamed.
  std::ofstream(t.dir() / "root/repositories/lib/x/_manifests/.tmp-123") << "half";
  std::ofstream(t.dir() / "root/uploads/.tmp-456") << "half";
  // The crash: a copy of the root taken while the chunk is in flight.
  std::filesystem::copy(t.dir() / "root", t.dir() / "copy",
                        std::filesystem::copy_options::recursive);
  w.reset();
  auto reopened = runtime::registry::RegistryStore::open(t.dir() / "copy");
  BOOST_REQUIRE(reopened.has_value());
  auto& s = **reopened;
  BOOST_CHECK(s.get_blob("lib/x", fx::digest_of(layer), std::nullopt)->bytes == layer);
  BOOST_CHECK(s.get_manifest("lib/x", "v1")->digest.str() == m);
  BOOST_CHECK(s.list_tags("lib/x", {})->entries == std::vector<std::string>{"v1"});
  BOOST_CHECK(s.catalog({})->entries == std::vector<std::string>{"lib/x"});
  BOOST_CHECK(!std::filesystem::exists(t.dir() / "copy/repositories/lib/x/_manifests/.tmp-123"));
  BOOST_CHECK(!std::filesystem::exists(t.dir() / "copy/uploads/.tmp-456"));
  auto status = s.upload_status("lib/x", up->session);
  BOOST_REQUIRE(status.has_value());
  BOOST_CHECK_EQUAL(status->offset_bytes, 60000u);
  auto done = s.complete_upload("lib/x", up->session, fx::digest_of(big), big.substr(60000));
  BOOST_REQUIRE(done.has_value());
  BOOST_CHECK(s.get_blob("lib/x", fx::digest_of(big), std::nullopt)->bytes == big);
}

BOOST_AUTO_TEST_CASE(disabled_deletion_answers_405) {
  fx::TempStore t(StoreOptions{.deletion = false, .durable = false});
  std::string layer = fx::blob_bytes(5, 10);
  std::string m = push_image(t, "r", layer, "v1");
  auto b = t.delete_blob("r", fx::digest_of(layer));
  BOOST_CHECK(b.error().code() == Code::unsupported);
  BOOST_CHECK_EQUAL(b.error().http_status(), 405);
  BOOST_CHECK(t.delete_manifest("r", m).error().code() == Code::unsupported);
  BOOST_CHECK(t.delete_manifest("r", "v1").error().code() == Code::unsupported);
  BOOST_CHECK(t.stat_manifest("r", "v1").has_value());
}

BOOST_AUTO_TEST_CASE(a_manifest_over_the_limit_is_413) {
  fx::TempStore t(StoreOptions{.manifest_limit_bytes = 100, .durable = false});
  fx::ImageSpec spec;
  auto m = fx::push_image(t, "r", spec, "v1");
  BOOST_REQUIRE(!m.has_value());
  BOOST_CHECK(m.error().code() == Code::size_invalid);
  BOOST_CHECK_EQUAL(m.error().http_status(), 413);
}

BOOST_AUTO_TEST_CASE(idle_sessions_expire) {
  fx::TempStore t(quick());
  auto up = t.start_upload("r");
  BOOST_REQUIRE(t.upload_chunk("r", up->session, 0, "abc").has_value());
  BOOST_CHECK_EQUAL(*t.store().expire_sessions(std::chrono::seconds(3600)), 0u);
  ::sleep(1);
  BOOST_CHECK_EQUAL(*t.store().expire_sessions(std::chrono::seconds(0)), 1u);
  BOOST_CHECK(t.upload_status("r", up->session).error().code() == Code::blob_upload_unknown);
  BOOST_CHECK(std::filesystem::is_empty(t.dir() / "root/uploads"));
}

BOOST_AUTO_TEST_CASE(gc_removes_what_nothing_references_after_the_grace) {
  fx::TempStore t(StoreOptions{.gc_grace = std::chrono::seconds(0), .durable = false});
  std::string layer = fx::blob_bytes(6, 1000);
  std::string loose = fx::blob_bytes(7, 2000);
  std::string unlinked = fx::blob_bytes(8, 3000);
  push_image(t, "r", layer, "v1");
  BOOST_REQUIRE(t.push_blob("r", fx::digest_of(loose), loose).has_value());
  BOOST_REQUIRE(t.push_blob("q", fx::digest_of(unlinked), unlinked).has_value());
  BOOST_REQUIRE(t.delete_blob("q", fx::digest_of(unlinked)).has_value());
  // A link removed from a repository whose manifest references the blob: still referenced.
  BOOST_REQUIRE(t.delete_blob("r", fx::digest_of(layer)).has_value());
  auto report = t.store().collect_garbage();
  BOOST_REQUIRE(report.has_value());
  BOOST_CHECK_EQUAL(report->blobs_removed, 2u);
  BOOST_CHECK_EQUAL(report->bytes_removed, 5000u);
  BOOST_CHECK_EQUAL(report->blobs_kept, 2u);  // the config and the layer
  BOOST_CHECK(t.stat_blob("r", fx::digest_of(loose)).error().code() == Code::blob_unknown);
  BOOST_CHECK(t.get_manifest("r", "v1").has_value());
  BOOST_CHECK(t.push_blob("r", fx::digest_of(loose), loose).has_value());
  BOOST_CHECK(t.get_blob("r", fx::digest_of(loose), std::nullopt)->bytes == loose);
}

BOOST_AUTO_TEST_CASE(gc_keeps_blobs_linked_within_the_grace) {
  fx::TempStore t(StoreOptions{.gc_grace = std::chrono::seconds(3600), .durable = false});
  std::string loose = fx::blob_bytes(9, 100);
  BOOST_REQUIRE(t.push_blob("r", fx::digest_of(loose), loose).has_value());
  auto report = t.store().collect_garbage();
  BOOST_REQUIRE(report.has_value());
  BOOST_CHECK_EQUAL(report->blobs_removed, 0u);
  BOOST_CHECK(t.stat_blob("r", fx::digest_of(loose)).has_value());
  // A reopen keeps the link's time (the link file's mtime).
  t.reopen(StoreOptions{.gc_grace = std::chrono::seconds(3600), .durable = false});
  BOOST_CHECK_EQUAL(t.store().collect_garbage()->blobs_removed, 0u);
  t.reopen(StoreOptions{.gc_grace = std::chrono::seconds(0), .durable = false});
  BOOST_CHECK_EQUAL(t.store().collect_garbage()->blobs_removed, 1u);
}

BOOST_AUTO_TEST_SUITE_END()
