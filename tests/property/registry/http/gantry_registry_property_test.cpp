// The spec property over real HTTP: random op sequences, legal and illegal, from
// gen_registry_ops(), run on ModelRegistry and, through RemoteRegistry (the client of
// runtime/registry/client), on the gantry-registry program started on 127.0.0.1 with fresh
// storage for each case. gantry-registry has no departures: statuses, error codes, digests,
// offsets and listings must be the model's, op by op. RC_PARAMS="seed=<n>" replays,
// RC_PARAMS="max_success=<n>" sets the number of cases (default 40).
#include <boost/test/unit_test.hpp>

#include "tests/property/registry/http/http_property.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"

using namespace gantry;
namespace rh = gantry::testing::registry_http;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;

BOOST_AUTO_TEST_SUITE(registry_http_gantry)

BOOST_AUTO_TEST_CASE(model_vs_gantry_registry) {
  auto prog = RegistryProcess::program(RegistryKind::gantry);
  if (!gantry::testing::require(prog.has_value(),
                                "gantry-registry is not built (set GANTRY_REGISTRY or PATH)"))
    return;
  rh::check_model_vs(
      "gantry-registry", [] { return rh::start_system(RegistryKind::gantry); },
      model::registry::ModelRegistryOptions{}, {}, 40);
}

BOOST_AUTO_TEST_SUITE_END()
