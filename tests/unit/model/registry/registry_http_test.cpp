// The HTTP spellings shared by gantry-registry and the client: error bodies, Link headers,
// upload and content ranges.
#include <boost/test/unit_test.hpp>
#include <limits>
#include <nlohmann/json.hpp>

#include "model/api/registry_http.h"

using namespace gantry::api;
using Code = RegistryErrorCode;

BOOST_AUTO_TEST_SUITE(registry_http)

BOOST_AUTO_TEST_CASE(error_bodies_round_trip_for_every_code) {
  for (auto code : kAllRegistryErrorCodes) {
    RegistryError e(code, "because");
    auto body = error_body_json(e);
    auto j = nlohmann::json::parse(body);
    BOOST_CHECK_EQUAL(j["errors"][0]["code"], std::string(to_string(code)));
    BOOST_CHECK_EQUAL(j["errors"][0]["message"], "because");
    auto back = error_from_response(e.http_status(), body, Code::blob_unknown);
    BOOST_CHECK(back == e);
    BOOST_CHECK_EQUAL(back.message(), "because");
  }
  auto j = nlohmann::json::parse(error_body_json(RegistryError(Code::name_unknown, "")));
  BOOST_CHECK_EQUAL(j["errors"][0]["message"], "repository name not known to registry");
}

BOOST_AUTO_TEST_CASE(answers_without_a_usable_body_take_the_fallback) {
  auto plain = error_from_response(404, "404 page not found\n", Code::manifest_unknown);
  BOOST_CHECK(plain.code() == Code::manifest_unknown);
  BOOST_CHECK_EQUAL(plain.http_status(), 404);
  auto unknown =
      error_from_response(400, R"({"errors":[{"code":"TAG_INVALID"}]})", Code::manifest_invalid);
  BOOST_CHECK(unknown.code() == Code::manifest_invalid);
  auto empty = error_from_response(400, R"({"errors":[]})", Code::digest_invalid);
  BOOST_CHECK(empty.code() == Code::digest_invalid);
  auto range = error_from_response(416, "", Code::blob_upload_invalid);
  BOOST_CHECK(range.code() == Code::range_invalid && range.http_status() == 416);
  // The status is kept as received: distribution's 400 for an oversized manifest stays 400.
  auto big =
      error_from_response(400, R"({"errors":[{"code":"MANIFEST_INVALID"}]})", Code::size_invalid);
  BOOST_CHECK(big.code() == Code::manifest_invalid && big.http_status() == 400);
}

BOOST_AUTO_TEST_CASE(link_headers) {
  auto link = link_header("/v2/a/b/tags/list", 2, "t2");
  BOOST_CHECK_EQUAL(link, "</v2/a/b/tags/list?n=2&last=t2>; rel=\"next\"");
  BOOST_CHECK(next_last_from_link(link) == "t2");
  auto cat = link_header("/v2/_catalog", 1, "a/b");
  BOOST_CHECK_EQUAL(cat, "</v2/_catalog?n=1&last=a%2Fb>; rel=\"next\"");
  BOOST_CHECK(next_last_from_link(cat) == "a/b");
  // distribution writes last before n
  BOOST_CHECK(next_last_from_link("</v2/_catalog?last=a%2Fb&n=1>; rel=\"next\"") == "a/b");
  BOOST_CHECK(!next_last_from_link("</v2/_catalog?n=1&last=a>; rel=\"prev\""));
  BOOST_CHECK(!next_last_from_link("</v2/_catalog?n=1>; rel=\"next\""));
  BOOST_CHECK(!next_last_from_link(""));
  BOOST_CHECK(!next_last_from_link("garbage>"));
}

BOOST_AUTO_TEST_CASE(upload_ranges) {
  BOOST_CHECK_EQUAL(upload_range_header(0), "0-0");
  BOOST_CHECK_EQUAL(upload_range_header(1), "0-0");
  BOOST_CHECK_EQUAL(upload_range_header(3), "0-2");
  BOOST_CHECK(offset_from_upload_range("0-2", false) == 3u);
  BOOST_CHECK(offset_from_upload_range("bytes=0-2", false) == 3u);
  BOOST_CHECK(offset_from_upload_range("0-0", true) == 0u);
  BOOST_CHECK(offset_from_upload_range("0-0", false) == 1u);
  BOOST_CHECK(!offset_from_upload_range("1-2", false));
  BOOST_CHECK(!offset_from_upload_range("0-", false));
  BOOST_CHECK(!offset_from_upload_range("x", false));
}

BOOST_AUTO_TEST_CASE(content_ranges) {
  BOOST_CHECK_EQUAL(content_range_header(0, 3), "0-2");
  BOOST_CHECK_EQUAL(content_range_header(10, 1), "10-10");
  BOOST_CHECK(parse_content_range("10-12") == (ByteRange{10, 12}));
  for (const char* bad :
       {"", "-", "1-", "-1", "2-1", "a-b", "1-2-3", " 1-2", "bytes=1-2", "99999999999999999999-1"})
    BOOST_CHECK_MESSAGE(!parse_content_range(bad), bad);
}

BOOST_AUTO_TEST_CASE(blob_ranges) {
  BOOST_CHECK_EQUAL(blob_range_header({2, 5}), "bytes=2-5");
  BOOST_CHECK(parse_blob_range("bytes=2-5") == (ByteRange{2, 5}));
  auto open = parse_blob_range("bytes=7-");
  BOOST_REQUIRE(open);
  BOOST_CHECK_EQUAL(open->first, 7u);
  BOOST_CHECK_EQUAL(open->last, std::numeric_limits<uint64_t>::max());
  for (const char* bad : {"2-5", "bytes=-5", "bytes=1-2,4-5", "bytes=5-2", "bytes="})
    BOOST_CHECK_MESSAGE(!parse_blob_range(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
