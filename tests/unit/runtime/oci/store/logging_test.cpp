#include "runtime/oci/logging.h"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace oci = gantry::runtime::oci;

BOOST_AUTO_TEST_SUITE(oci_logging)

BOOST_AUTO_TEST_CASE(json_lines_are_what_containerd_reads) {
  auto line = oci::format_log_line(oci::LogFormat::json, oci::LogLevel::error,
                                   "container does not exist", "2026-11-28T10:43:55Z");
  BOOST_TEST(line ==
             R"({"level":"error","msg":"container does not exist","time":"2026-11-28T10:43:55Z"})");
  auto quoted =
      oci::format_log_line(oci::LogFormat::json, oci::LogLevel::warning, "a \"b\"\n", "t");
  auto j = nlohmann::json::parse(quoted);
  BOOST_TEST(j["msg"] == "a \"b\"\n");
  BOOST_TEST(j["level"] == "warning");
}

BOOST_AUTO_TEST_CASE(text_lines_are_logrus_lines) {
  BOOST_TEST(oci::format_log_line(oci::LogFormat::text, oci::LogLevel::error,
                                  "container does not exist", "2026-11-28T10:43:55Z") ==
             R"(time="2026-11-28T10:43:55Z" level=error msg="container does not exist")");
  BOOST_TEST(oci::format_log_line(oci::LogFormat::text, oci::LogLevel::debug, "plain", "t") ==
             "time=t level=debug msg=plain");
  BOOST_TEST(oci::format_log_line(oci::LogFormat::text, oci::LogLevel::info, "say \"hi\"\n", "t") ==
             R"(time=t level=info msg="say \"hi\"\n")");
}

BOOST_AUTO_TEST_CASE(file_gets_lines_and_debug_only_when_asked) {
  gantry::testing::TempDir tmp("gantry-oci-log");
  auto path = (tmp / "log.json").string();
  BOOST_REQUIRE(oci::configure_logging({path, oci::LogFormat::json, false}).has_value());
  oci::log_debug("hidden");
  oci::log_error("boom");
  BOOST_REQUIRE(oci::configure_logging({path, oci::LogFormat::json, true}).has_value());
  oci::log_debug("shown");
  BOOST_REQUIRE(oci::configure_logging({}).has_value());
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  BOOST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0]["msg"] == "boom");
  BOOST_TEST(lines[0]["level"] == "error");
  BOOST_TEST(lines[1]["msg"] == "shown");
  BOOST_TEST(lines[1]["level"] == "debug");
  BOOST_TEST(lines[0]["time"].get<std::string>().size() == 20u);
}

BOOST_AUTO_TEST_CASE(log_format_names) {
  BOOST_TEST((*oci::parse_log_format("json") == oci::LogFormat::json));
  BOOST_TEST((*oci::parse_log_format("text") == oci::LogFormat::text));
  BOOST_TEST(!oci::parse_log_format("xml").has_value());
  BOOST_TEST(
      !oci::configure_logging({"/nonexistent/dir/log", oci::LogFormat::json, false}).has_value());
  BOOST_REQUIRE(oci::configure_logging({}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
