#include "runtime/image/prefetch.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>

using namespace gantry;
using namespace gantry::runtime::image;

namespace {
// Hands out its bytes in odd-sized pieces, then fails if asked to.
class Pieces final : public Source {
 public:
  Pieces(std::string bytes, bool fail_at_end) : bytes_(std::move(bytes)), fail_(fail_at_end) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    if (pos_ == bytes_.size()) {
      if (fail_) return Error(ErrorKind::invalid_argument, "broken stream");
      return size_t{0};
    }
    size_t n = std::min({buf.size(), bytes_.size() - pos_, size_t{777}});
    std::memcpy(buf.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
  bool fail_;
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) % 251);
  return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(bytes_come_out_in_order) {
  std::string want = pattern(1'000'003);
  Pieces inner(want, false);
  PrefetchingSource p(inner, 4096, 3);
  std::string got;
  std::vector<uint8_t> buf(1000);
  for (;;) {
    auto n = p.read(std::span(buf));
    BOOST_REQUIRE(n);
    if (*n == 0) break;
    got.append(reinterpret_cast<char*>(buf.data()), *n);
  }
  BOOST_TEST(got == want);
  auto again = p.read(std::span(buf));
  BOOST_REQUIRE(again);
  BOOST_TEST(*again == 0u);
}

BOOST_AUTO_TEST_CASE(error_comes_after_the_bytes_before_it) {
  Pieces inner(pattern(10'000), true);
  PrefetchingSource p(inner, 1024, 2);
  std::vector<uint8_t> buf(512);
  size_t total = 0;
  for (;;) {
    auto n = p.read(std::span(buf));
    if (!n) {
      BOOST_TEST(n.error().kind() == ErrorKind::invalid_argument);
      break;
    }
    BOOST_REQUIRE(*n > 0u);
    total += *n;
  }
  BOOST_TEST(total == 10'000u);
  BOOST_TEST(!p.drain());  // the error is sticky
}

BOOST_AUTO_TEST_CASE(stopping_early_joins_cleanly) {
  Pieces inner(pattern(5'000'000), false);
  {
    PrefetchingSource p(inner, 4096, 2);
    std::vector<uint8_t> buf(100);
    BOOST_REQUIRE(p.read(std::span(buf)));
    p.join();  // with most of the stream unread: must not hang
  }
  // The inner source is ours again and still readable where the thread left it.
  std::vector<uint8_t> buf(10);
  auto n = inner.read(std::span(buf));
  BOOST_REQUIRE(n);
  BOOST_TEST(*n > 0u);
}
