// Model vs store: random sequences of registry operations, legal and illegal
// (tests/conformance/registry/registry_ops_gen.h), applied to ModelRegistry and to a
// RegistryStore on a fresh temp root give equal api::RegistryOutcome, op by op. A second
// property closes and reopens the store at a random point of the sequence (a restart): the
// outcomes stay equal, sessions included. Case counts are RapidCheck's defaults (100);
// RC_PARAMS="max_success=20" or "seed=<n>" override them.
#include <rapidcheck.h>
#include <rapidcheck/boost_test.h>

#include <boost/test/unit_test.hpp>
#include <sstream>

#include "model/registry/model_registry.h"
#include "tests/conformance/registry/registry_ops_gen.h"
#include "tests/conformance/registry/store/temp_store.h"

using namespace gantry;
using gantry::model::registry::ModelRegistry;
using gantry::runtime::registry::StoreOptions;
namespace fx = gantry::testing::registry;

namespace {

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Not durable: fsync changes nothing that an outcome shows, and the property runs many ops.
StoreOptions quick() {
  return StoreOptions{.durable = false};
}

void run_both(const std::vector<api::RegistryOp>& ops, std::optional<size_t> reopen_at) {
  ModelRegistry model;
  fx::TempStore store(quick());
  api::SessionBook model_book, store_book;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (reopen_at && *reopen_at == i) store.reopen(quick());
    auto want = api::apply(model, model_book, ops[i]);
    auto got = api::apply(store, store_book, ops[i]);
    if (!(want == got))
      RC_FAIL("op " + std::to_string(i) + " " + show(ops[i]) + ": model " + show(want) +
              ", store " + show(got));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_store_vs_model)

RC_BOOST_PROP(the_store_answers_as_the_model, ()) {
  run_both(*fx::gen_registry_ops(), std::nullopt);
}

RC_BOOST_PROP(a_reopened_store_answers_as_the_model, ()) {
  auto ops = *fx::gen_registry_ops();
  size_t at = *rc::gen::inRange<size_t>(0, ops.size() + 1);
  run_both(ops, at);
}

BOOST_AUTO_TEST_SUITE_END()
