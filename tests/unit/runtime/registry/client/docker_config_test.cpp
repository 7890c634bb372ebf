#include "runtime/registry/client/docker_config.h"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace rc = gantry::runtime::registry;
using gantry::testing::TempDir;

namespace {
void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}
std::string read(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(registry_docker_config)

BOOST_AUTO_TEST_CASE(read_write_keeps_other_keys) {
  TempDir dir;
  std::string path = (dir / "config.json").string();
  BOOST_TEST(!rc::load_credentials("ghcr.io", path)->has_value());  // no file
  write(path, R"({"auths":{"other.io":{"auth":"eDp5"}},"psFormat":"table","proxies":{"a":1}})");
  BOOST_REQUIRE(rc::store_credentials("ghcr.io", {"alice", "pw:with:colons", ""}, path));
  auto got = rc::load_credentials("ghcr.io", path);
  BOOST_REQUIRE(got.has_value() && got->has_value());
  BOOST_TEST((*got)->username == "alice");
  BOOST_TEST((*got)->password == "pw:with:colons");
  auto j = nlohmann::json::parse(read(path));
  BOOST_TEST(j["psFormat"] == "table");
  BOOST_TEST(j["proxies"]["a"] == 1);
  BOOST_TEST(j["auths"]["other.io"]["auth"] == "eDp5");
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_REQUIRE(rc::remove_credentials("ghcr.io", path));
  BOOST_TEST(!rc::load_credentials("ghcr.io", path)->has_value());
  BOOST_TEST(rc::remove_credentials("ghcr.io", path).error().kind() ==
             gantry::ErrorKind::not_found);
  BOOST_TEST(nlohmann::json::parse(read(path))["auths"].contains("other.io"));
}

BOOST_AUTO_TEST_CASE(docker_hub_legacy_key_and_schemes) {
  TempDir dir;
  std::string path = (dir / "config.json").string();
  write(path, R"({"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="},
                 "https://ghcr.io":{"auth":"Z2g6dG9r","identitytoken":"refresh"}}})");
  auto hub = rc::load_credentials("docker.io", path);
  BOOST_REQUIRE(hub.has_value() && hub->has_value());
  BOOST_TEST((*hub)->username == "hub");
  BOOST_TEST((*hub)->password == "secret");
  auto gh = rc::load_credentials("ghcr.io", path);
  BOOST_REQUIRE(gh.has_value() && gh->has_value());
  BOOST_TEST((*gh)->identity_token == "refresh");
  BOOST_REQUIRE(rc::store_credentials("docker.io", {"new", "pw", ""}, path));
  auto j = nlohmann::json::parse(read(path));
  BOOST_TEST(j["auths"].contains("https://index.docker.io/v1/"));
  BOOST_TEST((*rc::load_credentials("docker.io", path))->username == "new");
}

BOOST_AUTO_TEST_CASE(malformed_files_and_helpers) {
  TempDir dir;
  std::string path = (dir / "config.json").string();
  write(path, "not json");
  BOOST_TEST(rc::load_credentials("x.io", path).error().kind() ==
             gantry::ErrorKind::invalid_argument);
  write(path, R"({"auths":{"x.io":{"auth":"!!!"}}})");
  BOOST_TEST(rc::load_credentials("x.io", path).error().kind() ==
             gantry::ErrorKind::invalid_argument);
  write(path, R"({"credHelpers":{"x.io":"ecr-login"}})");
  BOOST_TEST(rc::load_credentials("x.io", path).error().kind() ==
             gantry::ErrorKind::not_implemented);
  write(path, R"({"credsStore":"desktop","auths":{"x.io":{}}})");
  BOOST_TEST(rc::load_credentials("x.io", path).error().kind() ==
             gantry::ErrorKind::not_implemented);
  BOOST_TEST(rc::docker_config_path("/a/b.json") == "/a/b.json");
}

BOOST_AUTO_TEST_SUITE_END()
