// The ErrorKind <-> HTTP status table and the distribution error code table.
#include <boost/test/unit_test.hpp>

#include "model/api/http_status.h"
#include "model/api/registry.h"

using namespace gantry::api;
using gantry::ErrorKind;

BOOST_AUTO_TEST_SUITE(registry_http_status)

BOOST_AUTO_TEST_CASE(error_kinds_map_to_docker_statuses) {
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::not_found), 404);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::conflict), 409);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::already_exists), 409);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::failed_precondition), 409);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::invalid_argument), 400);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::permission_denied), 403);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::unavailable), 503);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::not_implemented), 501);
  BOOST_CHECK_EQUAL(http_status_of(ErrorKind::internal), 500);
}

BOOST_AUTO_TEST_CASE(statuses_map_back_to_kinds) {
  for (auto k : {ErrorKind::not_found, ErrorKind::conflict, ErrorKind::invalid_argument,
                 ErrorKind::permission_denied, ErrorKind::unavailable, ErrorKind::not_implemented,
                 ErrorKind::internal})
    BOOST_CHECK_EQUAL(error_kind_of_http_status(http_status_of(k)), k);
  BOOST_CHECK_EQUAL(error_kind_of_http_status(416), ErrorKind::invalid_argument);
  BOOST_CHECK_EQUAL(error_kind_of_http_status(429), ErrorKind::unavailable);
  BOOST_CHECK_EQUAL(error_kind_of_http_status(418), ErrorKind::invalid_argument);
  BOOST_CHECK_EQUAL(error_kind_of_http_status(502), ErrorKind::internal);
}

BOOST_AUTO_TEST_CASE(every_code_has_a_name_a_status_and_a_kind) {
  for (auto code : kAllRegistryErrorCodes) {
    auto name = to_string(code);
    BOOST_CHECK(registry_error_code_from_string(name) == code);
    BOOST_CHECK(!description(code).empty());
    int status = default_http_status(code);
    BOOST_CHECK_MESSAGE(status >= 400 && status < 500, name);
    // A code's kind and its status tell the same story (404s are not_found, ...).
    if (status == 404) BOOST_CHECK_EQUAL(error_kind_of(code), ErrorKind::not_found);
  }
  BOOST_CHECK(!registry_error_code_from_string("NOT_A_CODE").has_value());
}

BOOST_AUTO_TEST_CASE(the_table_has_the_statuses_of_distribution_md) {
  BOOST_CHECK_EQUAL(to_string(RegistryErrorCode::blob_unknown), "BLOB_UNKNOWN");
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::blob_unknown), 404);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::blob_upload_unknown), 404);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::manifest_unknown), 404);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::name_unknown), 404);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::digest_invalid), 400);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::manifest_blob_unknown), 400);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::manifest_invalid), 400);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::name_invalid), 400);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::size_invalid), 400);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::blob_upload_invalid), 400);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::unauthorized), 401);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::denied), 403);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::unsupported), 405);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::toomanyrequests), 429);
  BOOST_CHECK_EQUAL(default_http_status(RegistryErrorCode::range_invalid), 416);
}

BOOST_AUTO_TEST_CASE(registry_errors_compare_by_code_and_status) {
  RegistryError a(RegistryErrorCode::size_invalid, "one");
  RegistryError b(RegistryErrorCode::size_invalid, "two");
  RegistryError c(RegistryErrorCode::size_invalid, 413, "one");
  BOOST_CHECK(a == b);
  BOOST_CHECK(!(a == c));
  BOOST_CHECK_EQUAL(c.http_status(), 413);
  auto e = c.to_error();
  BOOST_CHECK_EQUAL(e.kind(), ErrorKind::invalid_argument);
  BOOST_CHECK_EQUAL(e.message(), "SIZE_INVALID: one");
}

BOOST_AUTO_TEST_SUITE_END()
