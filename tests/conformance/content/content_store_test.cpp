// ContentStore conformance: the behaviour every store must have, checked by name against each
// backend in kBackends. The names are those of the checks in the design:
//   ingest-commit-read, wrong-digest-refused-and-invisible, wrong-size, concurrent-same-digest,
//   abort-leaves-nothing, remove, walk, usage, crash-mid-ingest.
// A new backend (a remote store, say) adds itself to kBackends and must pass all of them.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <ostream>
#include <thread>
#include <vector>

#include "runtime/content/content_store.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using gantry::Digest;
using gantry::ErrorKind;
using gantry::Result;
using gantry::runtime::content::ContentStore;

namespace {

struct Backend {
  std::string name;
  std::function<Result<ContentStore>(const fs::path& scratch)> open;
  // Where the backend keeps ingests in progress (to check that nothing is left behind).
  std::function<fs::path(const fs::path& scratch)> ingest_dir;
};

std::ostream& operator<<(std::ostream& os, const Backend& b) {
  return os << b.name;
}

const std::vector<Backend> kBackends = {
    {"fs", [](const fs::path& s) { return ContentStore::open(s / "store"); },
     [](const fs::path& s) { return s / "store" / "ingest"; }},
    {"fs-separate-ingest-dir",
     [](const fs::path& s) { return ContentStore::open(s / "store", {.ingest_dir = s / "work"}); },
     [](const fs::path& s) { return s / "work"; }},
};

size_t entries(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  return n;
}

std::string blob_bytes(int seed, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 31 + static_cast<size_t>(seed)) & 0xff);
  return s;
}

ContentStore open_or_fail(const Backend& b, const fs::path& scratch) {
  auto s = b.open(scratch);
  BOOST_REQUIRE_MESSAGE(s.has_value(), b.name + ": " + (s ? "" : s.error().to_string()));
  return std::move(s).value();
}

}  // namespace

namespace bdata = boost::unit_test::data;

// ingest-commit-read
BOOST_DATA_TEST_CASE(ingest_commit_read, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  std::string data = blob_bytes(1, 100000);
  Digest want = Digest::of(data);
  BOOST_TEST(!store.contains(want));
  auto w = store.ingest(want, static_cast<int64_t>(data.size()));
  BOOST_REQUIRE(w);
  BOOST_REQUIRE(w->write(std::string_view(data).substr(0, 4096)));
  BOOST_TEST(!store.contains(want));  // not visible before commit
  BOOST_REQUIRE(w->write(std::string_view(data).substr(4096)));
  BOOST_TEST(w->written_bytes() == static_cast<int64_t>(data.size()));
  auto d = w->commit();
  BOOST_REQUIRE(d);
  BOOST_TEST(*d == want);
  BOOST_TEST(store.contains(want));
  auto info = store.stat(want);
  BOOST_REQUIRE(info);
  BOOST_TEST(info->size_bytes == static_cast<int64_t>(data.size()));
  auto back = store.read_blob(want);
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == data));
  auto fd = store.open_blob(want);
  BOOST_REQUIRE(fd);
  BOOST_TEST(fd->valid());
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 0u);
  // Without expectations, the digest is whatever was written.
  auto w2 = store.ingest();
  BOOST_REQUIRE(w2);
  BOOST_REQUIRE(w2->write("free"));
  auto d2 = w2->commit();
  BOOST_REQUIRE(d2);
  BOOST_TEST(*d2 == Digest::of("free"));
  // Empty blobs are blobs too.
  auto d3 = store.write_blob("");
  BOOST_REQUIRE(d3);
  BOOST_TEST(store.read_blob(*d3).value() == "");
}

// wrong-digest-refused-and-invisible
BOOST_DATA_TEST_CASE(wrong_digest_refused_and_invisible, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  Digest claimed = Digest::of("what was promised");
  auto w = store.ingest(claimed);
  BOOST_REQUIRE(w);
  BOOST_REQUIRE(w->write("what was sent"));
  auto d = w->commit();
  BOOST_REQUIRE(!d);
  BOOST_TEST(d.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(d.error().message().find(claimed.str()) != std::string::npos);
  BOOST_TEST(d.error().message().find(Digest::of("what was sent").str()) != std::string::npos);
  BOOST_TEST(!store.contains(claimed));
  BOOST_TEST(!store.contains(Digest::of("what was sent")));
  BOOST_TEST(store.usage().value().blob_count == 0);
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 0u);
}

// wrong-size
BOOST_DATA_TEST_CASE(wrong_size, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  for (int64_t claimed : {int64_t{5}, int64_t{100}}) {  // shorter and longer than the data
    auto w = store.ingest(Digest::of("0123456789"), claimed);
    BOOST_REQUIRE(w);
    auto wr = w->write("0123456789");
    auto d = wr ? w->commit() : Result<Digest>(std::move(wr).error());
    BOOST_REQUIRE(!d);
    BOOST_TEST(d.error().kind() == ErrorKind::invalid_argument);
    BOOST_TEST(d.error().message().find(std::to_string(claimed)) != std::string::npos);
  }
  BOOST_TEST(store.usage().value().blob_count == 0);
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 0u);
}

// concurrent-same-digest
BOOST_DATA_TEST_CASE(concurrent_same_digest, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  std::string data = blob_bytes(7, 300000);
  Digest want = Digest::of(data);
  constexpr int kThreads = 8;
  std::atomic<int> ok_count{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto w = store.ingest(want, static_cast<int64_t>(data.size()));
      if (!w) return;
      for (size_t off = 0; off < data.size(); off += 8192) {
        if (!w->write(std::string_view(data).substr(off, 8192))) return;
      }
      auto d = w->commit();
      if (d && *d == want) ++ok_count;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(ok_count.load() == kThreads);
  auto u = store.usage();
  BOOST_REQUIRE(u);
  BOOST_TEST(u->blob_count == 1);
  BOOST_TEST(u->size_bytes == static_cast<int64_t>(data.size()));
  BOOST_TEST(store.read_blob(want).value() == data);
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 0u);
}

// abort-leaves-nothing
BOOST_DATA_TEST_CASE(abort_leaves_nothing, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  {
    auto w = store.ingest();
    BOOST_REQUIRE(w);
    BOOST_REQUIRE(w->write("dropped without commit"));
  }
  {
    auto w = store.ingest();
    BOOST_REQUIRE(w);
    BOOST_REQUIRE(w->write("aborted"));
    w->abort();
    w->abort();  // idempotent
    BOOST_TEST(!w->commit());
  }
  BOOST_TEST(store.usage().value().blob_count == 0);
  BOOST_TEST(!store.contains(Digest::of("dropped without commit")));
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 0u);
}

// remove
BOOST_DATA_TEST_CASE(remove_blob, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  auto a = store.write_blob("a");
  auto b = store.write_blob("b");
  BOOST_REQUIRE(a && b);
  BOOST_REQUIRE(store.remove(*a));
  BOOST_TEST(!store.contains(*a));
  BOOST_TEST(store.contains(*b));
  BOOST_TEST(store.read_blob(*a).error().kind() == ErrorKind::not_found);
  auto again = store.remove(*a);
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().kind() == ErrorKind::not_found);
  // A removed blob can be ingested again.
  BOOST_REQUIRE(store.write_blob("a"));
  BOOST_TEST(store.contains(*a));
}

// walk
BOOST_DATA_TEST_CASE(walk_blobs, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  std::map<Digest, int64_t> want;
  for (int i = 0; i < 20; ++i) {
    std::string data = blob_bytes(i, static_cast<size_t>(i * 100));
    auto d = store.write_blob(data);
    BOOST_REQUIRE(d);
    want[*d] = static_cast<int64_t>(data.size());
  }
  auto open_writer = store.ingest();  // an ingest in progress is not a blob
  BOOST_REQUIRE(open_writer);
  BOOST_REQUIRE(open_writer->write("pending"));
  std::map<Digest, int64_t> seen;
  BOOST_REQUIRE(store.walk([&](const Digest& d, const gantry::runtime::content::BlobInfo& info) {
    BOOST_TEST(!seen.count(d));
    seen[d] = info.size_bytes;
  }));
  BOOST_TEST((seen == want));
}

// usage
BOOST_DATA_TEST_CASE(usage_totals, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  ContentStore store = open_or_fail(backend, tmp.path());
  auto u0 = store.usage();
  BOOST_REQUIRE(u0);
  BOOST_TEST(u0->blob_count == 0);
  BOOST_TEST(u0->size_bytes == 0);
  BOOST_REQUIRE(store.write_blob(blob_bytes(1, 1000)));
  BOOST_REQUIRE(store.write_blob(blob_bytes(2, 234)));
  BOOST_REQUIRE(store.write_blob(blob_bytes(2, 234)));  // the same blob twice counts once
  auto u = store.usage();
  BOOST_REQUIRE(u);
  BOOST_TEST(u->blob_count == 2);
  BOOST_TEST(u->size_bytes == 1234);
}

// crash-mid-ingest: a child writes half a blob and is killed with SIGKILL; after reopening,
// the blob is not visible and clean_ingests removes the temp file the child left.
BOOST_DATA_TEST_CASE(crash_mid_ingest, bdata::make(kBackends), backend) {
  gantry::testing::TempDir tmp;
  std::string data = blob_bytes(3, 1 << 20);
  Digest want = Digest::of(data);
  {
    ContentStore first = open_or_fail(backend, tmp.path());  // creates the layout
  }
  int ready[2];
  BOOST_REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    auto store = backend.open(tmp.path());
    if (!store) ::_exit(2);
    auto w = store->ingest(want, static_cast<int64_t>(data.size()));
    if (!w || !w->write(std::string_view(data).substr(0, data.size() / 2))) ::_exit(3);
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1) ::_exit(4);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ssize_t n = ::read(ready[0], &c, 1);
  ::close(ready[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_REQUIRE_MESSAGE(n == 1, "child failed before writing, status " + std::to_string(status));
  BOOST_TEST(WIFSIGNALED(status));

  ContentStore store = open_or_fail(backend, tmp.path());
  BOOST_TEST(!store.contains(want));
  BOOST_TEST(store.usage().value().blob_count == 0);
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 1u);  // the child's temp file
  auto removed = store.clean_ingests();
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 1);
  BOOST_TEST(entries(backend.ingest_dir(tmp.path())) == 0u);
  // The store still works for that digest.
  BOOST_REQUIRE(store.write_blob(data, want));
  BOOST_TEST(store.contains(want));
}
