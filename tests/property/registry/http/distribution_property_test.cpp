// The model's faithfulness, measured against the distribution registry 2.8 (Debian's
// docker-registry, started here on 127.0.0.1 with fresh storage for each case): random op
// sequences, legal and illegal, from gen_registry_ops(), run on ModelRegistry and, through
// RemoteRegistry, on the distribution registry. Every difference must be one of the departures
// in distribution_departures.h (also written down in docs/registry-model.md); anything else
// fails with the sequence. RC_PARAMS="seed=<n>" replays, RC_PARAMS="max_success=<n>" sets the
// number of cases (default 20).
#include <boost/test/unit_test.hpp>

#include "tests/property/registry/http/distribution_departures.h"
#include "tests/property/registry/http/http_property.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"

using namespace gantry;
namespace rh = gantry::testing::registry_http;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;

BOOST_AUTO_TEST_SUITE(registry_http_distribution)

BOOST_AUTO_TEST_CASE(model_vs_distribution) {
  auto prog = RegistryProcess::program(RegistryKind::distribution);
  if (!gantry::testing::require(prog.has_value(), "docker-registry is not installed")) return;
  rh::check_model_vs(
      "distribution", [] { return rh::start_system(RegistryKind::distribution); },
      rh::distribution_model_options(), rh::distribution_departures(), 20);
}

BOOST_AUTO_TEST_SUITE_END()
