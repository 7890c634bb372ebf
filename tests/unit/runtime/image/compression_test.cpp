#include "runtime/image/compression.h"

#include <boost/test/unit_test.hpp>
#include <random>

using gantry::Digest;
using gantry::ErrorKind;
namespace image = gantry::runtime::image;
using image::Compression;

namespace {

std::string sample(size_t n, uint64_t seed = 7) {
  // Compressible but not trivial: words from a small alphabet.
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(n);
  while (s.size() < n) s.push_back(static_cast<char>('a' + rng() % 7));
  return s;
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A source that hands out at most `step` bytes per read, to exercise buffering edges.
class TrickleSource final : public image::Source {
 public:
  TrickleSource(std::string_view data, size_t step) : data_(data), step_(step) {}
  gantry::Result<size_t> read(std::span<uint8_t> buf) override {
    size_t n = std::min({buf.size(), step_, data_.size()});
    std::memcpy(buf.data(), data_.data(), n);
    data_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view data_;
  size_t step_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(detect_by_magic) {
  BOOST_TEST((image::detect_compression(bytes("\x1f\x8b\x08")) == Compression::gzip));
  BOOST_TEST((image::detect_compression(bytes("\x28\xb5\x2f\xfd")) == Compression::zstd));
  BOOST_TEST((image::detect_compression(bytes("ustar")) == Compression::none));
  BOOST_TEST((image::detect_compression(bytes("")) == Compression::none));
}

BOOST_AUTO_TEST_CASE(round_trip_every_format_with_digests) {
  std::string data = sample(3 << 20);
  for (Compression c : {Compression::none, Compression::gzip, Compression::zstd}) {
    BOOST_TEST_CONTEXT(image::to_string(c)) {
      image::StringSink out;
      auto sink = image::CompressingSink::open(out, {.compression = c});
      BOOST_REQUIRE(sink);
      // Write in uneven pieces.
      for (size_t off = 0; off < data.size(); off += 100'003) {
        BOOST_REQUIRE((*sink)->write(bytes(std::string_view(data).substr(off, 100'003))));
      }
      BOOST_REQUIRE((*sink)->close());
      BOOST_TEST((*sink)->uncompressed_bytes() == data.size());
      BOOST_TEST((*sink)->compressed_bytes() == out.str().size());
      BOOST_TEST((*sink)->uncompressed_digest() == Digest::of(data));
      BOOST_TEST((*sink)->compressed_digest() == Digest::of(out.str()));
      if (c != Compression::none) BOOST_TEST(out.str().size() < data.size() / 2);

      TrickleSource in(out.str(), 9'999);
      auto src = image::DecompressingSource::open(in);
      BOOST_REQUIRE(src);
      BOOST_TEST(((*src)->compression() == c));
      std::string back;
      std::vector<uint8_t> buf(65'536);
      for (;;) {
        auto n = (*src)->read(std::span(buf));
        BOOST_REQUIRE(n);
        if (*n == 0) break;
        back.append(reinterpret_cast<char*>(buf.data()), *n);
      }
      BOOST_TEST((back == data));
      BOOST_TEST((*src)->finished());
      BOOST_TEST((*src)->compressed_bytes() == out.str().size());
      BOOST_TEST((*src)->uncompressed_bytes() == data.size());
      BOOST_TEST((*src)->compressed_digest() == Digest::of(out.str()));
      BOOST_TEST((*src)->uncompressed_digest() == Digest::of(data));
    }
  }
}

BOOST_AUTO_TEST_CASE(multi_member_gzip_and_multi_frame_zstd) {
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    auto a = image::compress_bytes("hello ", {.compression = c});
    auto b = image::compress_bytes("world", {.compression = c});
    BOOST_REQUIRE(a);
    BOOST_REQUIRE(b);
    auto back = image::decompress_bytes(*a + *b);
    BOOST_REQUIRE(back);
    BOOST_TEST(*back == "hello world");
  }
}

BOOST_AUTO_TEST_CASE(empty_payloads) {
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    auto z = image::compress_bytes("", {.compression = c});
    BOOST_REQUIRE(z);
    auto back = image::decompress_bytes(*z);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->empty());
  }
  auto none = image::decompress_bytes("");
  BOOST_REQUIRE(none);
  BOOST_TEST(none->empty());
  auto empty_gzip = image::decompress_bytes("", {.compression = Compression::gzip});
  BOOST_REQUIRE(!empty_gzip);
  BOOST_TEST(empty_gzip.error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(corrupt_and_truncated_streams_are_invalid) {
  std::string data = sample(1 << 20);
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    BOOST_TEST_CONTEXT(image::to_string(c)) {
      auto z = image::compress_bytes(data, {.compression = c});
      BOOST_REQUIRE(z);
      auto truncated = image::decompress_bytes(z->substr(0, z->size() / 2));
      BOOST_REQUIRE(!truncated);
      BOOST_TEST(truncated.error().kind() == ErrorKind::invalid_argument);
      std::string flipped = *z;
      for (size_t i = 20; i < flipped.size(); i += 997) flipped[i] ^= 0x55;
      auto bad = image::decompress_bytes(flipped);
      BOOST_REQUIRE(!bad);
      BOOST_TEST(bad.error().kind() == ErrorKind::invalid_argument);
    }
  }
  auto gz = image::compress_bytes("x", {.compression = Compression::gzip});
  BOOST_REQUIRE(gz);
  auto garbage = image::decompress_bytes(*gz + "garbage");
  BOOST_REQUIRE(!garbage);
  BOOST_TEST(garbage.error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bounds_stop_a_bomb_while_streaming) {
  std::string zeros(64 << 20, '\0');
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    auto z = image::compress_bytes(zeros, {.compression = c});
    BOOST_REQUIRE(z);
    auto capped = image::decompress_bytes(*z, {.max_expanded_bytes = 8 << 20});
    BOOST_REQUIRE(!capped);
    BOOST_TEST(capped.error().kind() == ErrorKind::invalid_argument);
    auto ratio = image::decompress_bytes(*z, {.max_ratio = 100, .ratio_grace_bytes = 1 << 20});
    BOOST_REQUIRE(!ratio);
    BOOST_TEST(ratio.error().kind() == ErrorKind::invalid_argument);
    auto fine = image::decompress_bytes(*z, {.max_expanded_bytes = 64 << 20});
    BOOST_REQUIRE(fine);
    BOOST_TEST(fine->size() == zeros.size());
  }
}

BOOST_AUTO_TEST_CASE(bad_levels_are_refused) {
  image::StringSink out;
  auto g = image::CompressingSink::open(out, {.compression = Compression::gzip, .level = 12});
  BOOST_REQUIRE(!g);
  BOOST_TEST(g.error().kind() == ErrorKind::invalid_argument);
}
