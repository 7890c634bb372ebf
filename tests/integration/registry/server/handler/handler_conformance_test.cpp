// The registry conformance suite (tests/conformance/registry) through gantry-registry's whole
// HTTP surface, in process: each api::Registry call becomes the request a client sends and is
// answered by the RequestHandler over a RegistryStore in a temp dir (HandlerRegistry).
#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>

#include "tests/conformance/registry/registry_conformance.h"
#include "tests/integration/registry/server/handler/handler_registry.h"

namespace reg = gantry::testing::registry;
using gantry::runtime::registry::StoreOptions;

namespace {

struct Backend {
  std::string name;
  reg::RegistryFactory factory;
  std::vector<std::string> known_departures;
};

const std::vector<Backend>& backends() {
  static const std::vector<Backend> b = {
      {"handler", [] { return std::make_unique<reg::HandlerRegistry>(); }, {}},
      {"handler-no-tag-deletion",
       [] {
         return std::make_unique<reg::HandlerRegistry>(
             StoreOptions{.tag_deletion = false, .durable = false});
       },
       {"manifest-delete-by-tag"}},
  };
  return b;
}

struct Case {
  const Backend* backend;
  const reg::RegistryCheck* check;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.backend->name << "/" << c.check->name;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& b : backends())
    for (const auto& c : reg::registry_checks()) out.push_back({&b, &c});
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_handler_conformance)

BOOST_DATA_TEST_CASE(check, boost::unit_test::data::make(cases()), c) {
  reg::CheckReport report = reg::run_registry_check(*c.check, c.backend->factory);
  const auto& known = c.backend->known_departures;
  bool departure = std::find(known.begin(), known.end(), c.check->name) != known.end();
  std::string failures;
  for (const auto& f : report.failures) failures += "\n  " + f;
  if (departure) {
    BOOST_CHECK_MESSAGE(!report.failures.empty(),
                        c.check->name + ": listed as a known departure but passes");
  } else {
    BOOST_CHECK_MESSAGE(report.failures.empty(),
                        c.check->name + " (" + c.check->rule + "):" + failures);
  }
}

BOOST_AUTO_TEST_SUITE_END()
