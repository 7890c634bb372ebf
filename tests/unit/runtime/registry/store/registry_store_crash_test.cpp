// Crash safety: a forked child pushes (monolithic blobs, chunked sessions, manifests under
// tags) into a durable store and reports each acknowledgement through a pipe; the parent
// SIGKILLs it at a random moment, reopens the store and checks: every acknowledged blob,
// manifest and tag is intact; no blob file in the content store is partial (each hashes to
// its name); every session with an acknowledged chunk resumes at (at least) that offset and
// completes. The seed of each round is printed; GANTRY_CRASH_SEED=<n> replays one round,
// GANTRY_CRASH_ROUNDS=<n> changes how many run.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "runtime/registry/store/registry_store.h"
#include "runtime/sys/fs.h"
#include "tests/conformance/registry/registry_fixtures.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
using gantry::runtime::registry::RegistryStore;
namespace fx = gantry::testing::registry;
using Code = api::RegistryErrorCode;

namespace {

constexpr const char* kRepos[] = {"lib/a", "lib/b"};

// The child's acknowledgements, one line each:
//   B <repo> <content seed> <size>                  a blob pushed or uploaded
//   C <repo> <session> <content seed> <size> <offset>  a chunk acknowledged (at offset)
//   P <session>                                      completion of the session starts
//   M <repo> <tag> <manifest digest>                 a manifest pushed under tag
void report(int fd, const std::string& line) {
  std::string l = line + "\n";
  (void)gantry::runtime::sys::write_all(fd, l);
}

[[noreturn]] void child(const std::filesystem::path& root, uint64_t seed, int fd) {
  auto opened = RegistryStore::open(root);
  if (!opened) _exit(3);
  RegistryStore& s = **opened;
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, std::pair<int, size_t>>> blobs;  // repo, (seed, size)
  for (int i = 0;; ++i) {
    std::string repo = kRepos[rng() % 2];
    int content_seed = static_cast<int>(seed % 100000) * 1000 + i;
    size_t size = 1 + rng() % (i % 4 == 0 ? 3000000 : 100000);
    switch (rng() % 3) {
      case 0: {
        std::string b = fx::blob_bytes(content_seed, size);
        if (!s.push_blob(repo, fx::digest_of(b), b)) _exit(4);
        report(fd, "B " + repo + " " + std::to_string(content_seed) + " " + std::to_string(size));
        blobs.push_back({repo, {content_seed, size}});
        break;
      }
      case 1: {
        std::string b = fx::blob_bytes(content_seed, size);
        auto up = s.start_upload(repo);
        if (!up) _exit(5);
        size_t at = 0;
        while (at < b.size()) {
          size_t n = std::min<size_t>(b.size() - at, 1 + rng() % 700000);
          if (!s.upload_chunk(repo, up->session, at, b.substr(at, n))) _exit(6);
          at += n;
          report(fd, "C " + repo + " " + up->session + " " + std::to_string(content_seed) + " " +
                         std::to_string(size) + " " + std::to_string(at));
          if (rng() % 4 == 0) break;  // left open, to be resumed by the parent
        }
        if (at < b.size()) break;
        report(fd, "P " + up->session);
        if (!s.complete_upload(repo, up->session, fx::digest_of(b), "")) _exit(7);
        report(fd, "B " + repo + " " + std::to_string(content_seed) + " " + std::to_string(size));
        blobs.push_back({repo, {content_seed, size}});
        break;
      }
      default: {
        std::vector<std::string> layers;
        for (const auto& [r, b] : blobs)
          if (r == repo && layers.size() < 3) layers.push_back(fx::blob_bytes(b.first, b.second));
        fx::ImageSpec spec;
        spec.config = "{\"i\":" + std::to_string(content_seed) + "}";
        spec.layers = layers;
        if (!s.push_blob(repo, fx::digest_of(spec.config), spec.config)) _exit(8);
        std::string body = fx::image_manifest(spec);
        std::string tag = "t" + std::to_string(content_seed);
        if (!s.put_manifest(repo, tag, std::string(api::kOciManifestType), body)) _exit(9);
        report(fd, "M " + repo + " " + tag + " " + fx::digest_of(body));
        break;
      }
    }
  }
}

struct Chunked {
  std::string repo;
  int content_seed = 0;
  size_t size = 0;
  uint64_t offset = 0;
  bool completing = false;
};

void check_round(uint64_t seed) {
  BOOST_TEST_MESSAGE("crash round, seed " << seed);
  testing::TempDir dir("gantry-store-crash");
  std::filesystem::path root = dir / "root";
  int p[2];
  BOOST_REQUIRE(::pipe(p) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[0]);
    child(root, seed, p[1]);
  }
  ::close(p[1]);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  ::usleep(static_cast<useconds_t>(20000 + rng() % 300000));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status), "seed " << seed << ": the child exited with "
                                                     << WEXITSTATUS(status) << " before the kill");
  auto text = gantry::runtime::sys::read_all(p[0]);
  ::close(p[0]);
  BOOST_REQUIRE(text.has_value());
  std::string all = *text;
  all = all.substr(0, all.rfind('\n') + 1);  // a torn last line was never acknowledged

  auto opened = RegistryStore::open(root);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), "seed " << seed << ": reopen failed");
  RegistryStore& s = **opened;
  std::map<std::string, Chunked> sessions;
  std::istringstream in(all);
  std::string kind;
  int acked = 0;
  while (in >> kind) {
    ++acked;
    if (kind == "B") {
      std::string repo;
      int cs;
      size_t size;
      in >> repo >> cs >> size;
      std::string bytes = fx::blob_bytes(cs, size);
      auto got = s.get_blob(repo, fx::digest_of(bytes), std::nullopt);
      BOOST_REQUIRE_MESSAGE(got.has_value(), "seed " << seed << ": acknowledged blob lost");
      BOOST_CHECK_MESSAGE(got->bytes == bytes, "seed " << seed << ": blob differs");
    } else if (kind == "C") {
      Chunked c;
      std::string id;
      in >> c.repo >> id >> c.content_seed >> c.size >> c.offset;
      sessions[id] = c;
    } else if (kind == "P") {
      std::string id;
      in >> id;
      sessions[id].completing = true;
    } else if (kind == "M") {
      std::string repo, tag, digest;
      in >> repo >> tag >> digest;
      auto m = s.get_manifest(repo, tag);
      BOOST_REQUIRE_MESSAGE(m.has_value(), "seed " << seed << ": acknowledged tag lost");
      BOOST_CHECK_EQUAL(m->digest.str(), digest);
      BOOST_CHECK_EQUAL(fx::digest_of(m->bytes), digest);
    }
  }
  BOOST_TEST_MESSAGE("  " << acked << " acknowledgements");
  // No partial blob: every file in the content store hashes to its name.
  for (const auto& e : std::filesystem::directory_iterator(root / "blobs/sha256")) {
    gantry::runtime::sys::UniqueFd fd(::open(e.path().c_str(), O_RDONLY | O_CLOEXEC));
    auto bytes = gantry::runtime::sys::read_all(fd.get());
    BOOST_REQUIRE(bytes.has_value());
    BOOST_CHECK_MESSAGE(Digest::of(*bytes).hex() == e.path().filename().string(),
                        "seed " << seed << ": partial blob " << e.path());
  }
  // Sessions resume where they were acknowledged (or beyond, if the kill came between the
  // store's acknowledgement and the report) and complete.
  for (const auto& [id, c] : sessions) {
    if (c.completing) continue;  // completed or not: either answer is right
    auto st = s.upload_status(c.repo, id);
    BOOST_REQUIRE_MESSAGE(st.has_value(), "seed " << seed << ": session " << id << " lost");
    BOOST_CHECK_GE(st->offset_bytes, c.offset);
    std::string bytes = fx::blob_bytes(c.content_seed, c.size);
    auto done = s.complete_upload(c.repo, id, fx::digest_of(bytes), bytes.substr(st->offset_bytes));
    BOOST_CHECK_MESSAGE(done.has_value(), "seed " << seed << ": resumed session fails");
    BOOST_CHECK(s.get_blob(c.repo, fx::digest_of(bytes), std::nullopt)->bytes == bytes);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_store_crash)

BOOST_AUTO_TEST_CASE(kill_during_pushes_keeps_every_acknowledgement) {
  if (const char* one = std::getenv("GANTRY_CRASH_SEED")) {
    check_round(std::strtoull(one, nullptr, 10));
    return;
  }
  int rounds = 8;
  if (const char* n = std::getenv("GANTRY_CRASH_ROUNDS")) rounds = std::atoi(n);
  uint64_t base = std::random_device{}();
  for (int i = 0; i < rounds; ++i) check_round(base + static_cast<uint64_t>(i));
}

BOOST_AUTO_TEST_SUITE_END()
