// gc while pushes go on: one thread collects in a loop while others push blobs and then
// manifests over them. With a grace period every manifest push succeeds and its blobs stay
// readable; with no grace a push may lose its blobs to the sweep before the manifest arrives,
// but then the manifest is refused (MANIFEST_BLOB_UNKNOWN), never accepted over a removed
// blob, and a reader only ever sees a blob whole or BLOB_UNKNOWN.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <mutex>
#include <thread>

#include "runtime/registry/store/registry_store.h"
#include "tests/conformance/registry/registry_fixtures.h"
#include "tests/conformance/registry/store/temp_store.h"

using namespace gantry;
using gantry::runtime::registry::StoreOptions;
namespace fx = gantry::testing::registry;
using Code = api::RegistryErrorCode;

namespace {

// Boost.Test's assertions are not thread-safe: threads record what went wrong here and the
// test checks it after joining them.
std::mutex failures_mu;
std::vector<std::string> failures;
void fail(const std::string& what) {
  std::lock_guard l(failures_mu);
  failures.push_back(what);
}
void check_no_failures() {
  std::lock_guard l(failures_mu);
  for (const auto& f : failures) BOOST_ERROR(f);
  failures.clear();
}

struct Pushed {
  std::string repo, manifest;
  std::vector<std::string> blobs;  // contents the manifest references
};

// Pushes a config and two layers (one monolithic, one chunked through a session) and a junk
// blob nothing references, then the manifest. Returns the manifest push's outcome.
api::RegistryResult<api::ManifestCreated> push_one(runtime::registry::RegistryStore& s,
                                                   const std::string& repo, int seed,
                                                   std::vector<std::string>& junk, Pushed& out) {
  fx::ImageSpec spec;
  spec.config = "{\"seed\":" + std::to_string(seed) + "}";
  spec.layers = {fx::blob_bytes(seed * 3 + 1, 20000), fx::blob_bytes(seed * 3 + 2, 70000)};
  std::string j = fx::blob_bytes(seed * 3 + 3, 5000);
  junk.push_back(j);
  (void)s.push_blob(repo, fx::digest_of(j), j);
  (void)s.push_blob(repo, fx::digest_of(spec.config), spec.config);
  (void)s.push_blob(repo, fx::digest_of(spec.layers[0]), spec.layers[0]);
  auto up = s.start_upload(repo);
  if (!up) fail("start_upload failed");
  const std::string& l = spec.layers[1];
  if (up && !s.upload_chunk(repo, up->session, 0, l.substr(0, 30000))) fail("chunk failed");
  if (up && !s.complete_upload(repo, up->session, fx::digest_of(l), l.substr(30000)))
    fail("complete_upload failed");
  std::string body = fx::image_manifest(spec);
  out = Pushed{repo, fx::digest_of(body), {spec.config, spec.layers[0], spec.layers[1]}};
  return s.put_manifest(repo, "t" + std::to_string(seed), std::string(api::kOciManifestType), body);
}

void check_readable(runtime::registry::RegistryStore& s, const Pushed& p) {
  BOOST_CHECK(s.get_manifest(p.repo, p.manifest).has_value());
  for (const auto& b : p.blobs) {
    auto got = s.get_blob(p.repo, fx::digest_of(b), std::nullopt);
    BOOST_REQUIRE_MESSAGE(got.has_value(), "blob of " + p.manifest + " lost");
    BOOST_CHECK(got->bytes == b);
  }
}

// Runs gc in a loop on one thread while `pushers` threads push `rounds` images each.
void race(
    runtime::registry::RegistryStore& s, int pushers, int rounds,
    const std::function<void(api::RegistryResult<api::ManifestCreated>, const Pushed&)>& on_push,
    std::vector<std::string>& junk) {
  std::atomic<bool> stop{false};
  std::atomic<int> passes{0};
  std::mutex mu;
  std::thread gc([&] {
    while (!stop) {
      auto r = s.collect_garbage();
      if (!r) fail("gc: " + r.error().to_string());
      ++passes;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < pushers; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) {
        std::vector<std::string> j;
        Pushed p;
        auto m = push_one(s, "repo" + std::to_string(t % 2), t * 1000 + i, j, p);
        std::lock_guard l(mu);
        junk.insert(junk.end(), j.begin(), j.end());
        on_push(m, p);
      }
    });
  for (auto& t : threads) t.join();
  stop = true;
  gc.join();
  check_no_failures();
  BOOST_TEST_MESSAGE("gc passes during the pushes: " << passes.load());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_store_gc)

BOOST_AUTO_TEST_CASE(gc_during_pushes_with_a_grace_loses_nothing) {
  fx::TempStore t(StoreOptions{.gc_grace = std::chrono::seconds(60), .durable = false});
  auto& s = t.store();
  std::vector<Pushed> pushed;
  std::vector<std::string> junk;
  race(
      s, 3, 15,
      [&](auto m, const Pushed& p) {
        if (!m) fail("manifest push failed: " + m.error().message());
        pushed.push_back(p);
      },
      junk);
  for (const auto& p : pushed) check_readable(s, p);
  // Past the grace (a reopen with none): the junk goes, every referenced blob stays.
  t.reopen(StoreOptions{.gc_grace = std::chrono::seconds(0), .durable = false});
  auto r = t.store().collect_garbage();
  BOOST_REQUIRE(r.has_value());
  BOOST_CHECK_EQUAL(r->blobs_removed, junk.size());
  for (const auto& j : junk)
    for (const char* repo : {"repo0", "repo1"})
      BOOST_CHECK(t.store().stat_blob(repo, fx::digest_of(j)).error().code() == Code::blob_unknown);
  for (const auto& p : pushed) check_readable(t.store(), p);
}

BOOST_AUTO_TEST_CASE(gc_without_grace_never_accepts_a_manifest_over_a_removed_blob) {
  fx::TempStore t(StoreOptions{.gc_grace = std::chrono::seconds(0), .durable = false});
  auto& s = t.store();
  std::vector<Pushed> accepted;
  std::vector<std::string> junk;
  int refused = 0;
  race(
      s, 2, 15,
      [&](auto m, const Pushed& p) {
        if (m.has_value()) {
          accepted.push_back(p);
          return;
        }
        if (m.error().code() != Code::manifest_blob_unknown)
          fail("unexpected " + m.error().message());
        ++refused;
      },
      junk);
  BOOST_TEST_MESSAGE(accepted.size() << " manifests accepted, " << refused << " refused");
  // gc again, twice: referenced blobs survive it.
  BOOST_REQUIRE(s.collect_garbage().has_value());
  BOOST_REQUIRE(s.collect_garbage().has_value());
  for (const auto& p : accepted) check_readable(s, p);
  for (const auto& j : junk)
    BOOST_CHECK(s.open_blob("repo0", fx::digest_of(j)).error().code() == Code::blob_unknown);
}

BOOST_AUTO_TEST_CASE(concurrent_pushes_of_one_blob_all_succeed) {
  fx::TempStore t(StoreOptions{.durable = false});
  std::string bytes = fx::blob_bytes(42, 50000);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) {
        std::string repo = "r" + std::to_string((i + k) % 3);
        if (k % 2 == 0) {
          if (t.store().push_blob(repo, fx::digest_of(bytes), bytes).has_value()) ++ok;
        } else {
          auto up = t.store().start_upload(repo);
          if (up && t.store().complete_upload(repo, up->session, fx::digest_of(bytes), bytes)) ++ok;
        }
        auto head = t.store().stat_blob(repo, fx::digest_of(bytes));
        if (!head || head->size_bytes != bytes.size()) ok -= 1000;
      }
    });
  for (auto& th : threads) th.join();
  BOOST_CHECK_EQUAL(ok.load(), 40);
  BOOST_CHECK(t.store().get_blob("r0", fx::digest_of(bytes), std::nullopt)->bytes == bytes);
}

BOOST_AUTO_TEST_SUITE_END()
