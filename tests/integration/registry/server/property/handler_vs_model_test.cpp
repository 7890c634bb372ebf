// Model vs gantry-registry's HTTP surface, in process: random sequences of registry operations,
// legal and illegal (tests/conformance/registry/registry_ops_gen.h), applied to ModelRegistry
// and to HandlerRegistry (each op becomes the HTTP request a client sends to the
// RequestHandler over a RegistryStore) give equal api::RegistryOutcome, op by op: statuses,
// error codes, digests, offsets from the Range headers, listings from the Link headers.
// RC_PARAMS="max_success=20" or "seed=<n>" override the case count.
#include <rapidcheck.h>
#include <rapidcheck/boost_test.h>

#include <boost/test/unit_test.hpp>
#include <sstream>

#include "model/registry/model_registry.h"
#include "tests/conformance/registry/registry_ops_gen.h"
#include "tests/integration/registry/server/handler/handler_registry.h"

using namespace gantry;
using gantry::model::registry::ModelRegistry;
namespace fx = gantry::testing::registry;

namespace {

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_handler_vs_model)

RC_BOOST_PROP(the_server_answers_as_the_model, ()) {
  auto ops = *fx::gen_registry_ops();
  ModelRegistry model;
  fx::HandlerRegistry server(runtime::registry::StoreOptions{.durable = false});
  api::SessionBook model_book, server_book;
  for (size_t i = 0; i < ops.size(); ++i) {
    auto want = api::apply(model, model_book, ops[i]);
    auto got = api::apply(server, server_book, ops[i]);
    if (!(want == got))
      RC_FAIL("op " + std::to_string(i) + " " + show(ops[i]) + ": model " + show(want) +
              ", server " + show(got));
  }
}

BOOST_AUTO_TEST_SUITE_END()
