// The registry conformance suite (registry_conformance.h) against each backend in kBackends.
// Today: the model, with its default options, and with tag deletion disabled (which must then
// fail exactly the tag-deletion check). The HTTP client backends (gantry-registry, the
// distribution registry) add themselves here when they land.
#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <set>

#include "model/registry/model_registry.h"
#include "tests/conformance/registry/registry_conformance.h"

namespace reg = gantry::testing::registry;
using gantry::model::registry::ModelRegistry;
using gantry::model::registry::ModelRegistryOptions;

namespace {

struct Backend {
  std::string name;
  reg::RegistryFactory factory;
  std::vector<std::string> known_departures;  // check names this backend fails on purpose
};

const std::vector<Backend>& backends() {
  static const std::vector<Backend> b = {
      {"model", [] { return std::make_unique<ModelRegistry>(); }, {}},
      {"model-no-tag-deletion",
       [] { return std::make_unique<ModelRegistry>(ModelRegistryOptions{.tag_deletion = false}); },
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

BOOST_AUTO_TEST_SUITE(registry_conformance)

BOOST_DATA_TEST_CASE(check, boost::unit_test::data::make(cases()), c) {
  reg::CheckReport report = reg::run_registry_check(*c.check, c.backend->factory);
  const auto& known = c.backend->known_departures;
  bool departure = std::find(known.begin(), known.end(), c.check->name) != known.end();
  std::string failures;
  for (const auto& f : report.failures) failures += "\n  " + f;
  if (departure) {
    BOOST_CHECK_MESSAGE(!report.failures.empty(),
                        c.check->name + ": listed as a known departure but passes");
    BOOST_TEST_MESSAGE("known departure " << c << ":" << failures);
  } else {
    BOOST_CHECK_MESSAGE(report.failures.empty(),
                        c.check->name + " (" + c.check->rule + "):" + failures);
  }
}

BOOST_AUTO_TEST_CASE(check_names_are_unique) {
  std::set<std::string> names;
  for (const auto& c : reg::registry_checks()) BOOST_CHECK(names.insert(c.name).second);
}

BOOST_AUTO_TEST_SUITE_END()
