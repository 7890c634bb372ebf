// What the model-vs-HTTP-registry properties share: run one random op sequence on the model
// and on a registry over HTTP (RemoteRegistry), compare every outcome, and sort each
// difference into "a documented departure of that registry" or a failure.
//
// A departure is a named rule: a predicate on (op, model outcome, registry outcome) that says
// "this difference is the known one", with the reason. The distribution registry's list is in
// distribution_departures.h and docs/registry-model.md; gantry-registry has none.
#pragma once

#include <rapidcheck.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model/api/registry.h"
#include "model/registry/model_registry.h"
#include "runtime/registry/client/remote_registry.h"
#include "tests/conformance/registry/registry_ops_gen.h"
#include "tests/support/registry/registry_process.h"

namespace gantry::testing::registry_http {

struct Departure {
  std::string name;
  std::string reason;
  // True when the difference between `model` and `system` on `op` is this departure.
  std::function<bool(const api::RegistryOp& op, const api::RegistryOutcome& model,
                     const api::RegistryOutcome& system)>
      matches;
  // The registry's state differs from the model's after this departure (it accepted what the
  // model refused), so the rest of the sequence is not comparable: the run stops there.
  bool ends_comparison = false;
};

// Departures seen in a whole run (by name), printed at the end of a test.
inline std::map<std::string, int>& departures_seen() {
  static std::map<std::string, int> seen;
  return seen;
}

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Runs `ops` on both and compares outcome by outcome (RC_FAIL on an unexplained difference,
// with the sequence so far).
inline void compare_runs(api::Registry& model, api::Registry& system,
                         const std::vector<api::RegistryOp>& ops,
                         const std::vector<Departure>& departures) {
  api::SessionBook model_book, system_book;
  std::ostringstream trace;
  for (size_t i = 0; i < ops.size(); ++i) {
    auto want = api::apply(model, model_book, ops[i]);
    auto got = api::apply(system, system_book, ops[i]);
    trace << "  #" << i << " " << ops[i] << "\n      model:  " << want << "\n      system: " << got
          << "\n";
    if (want == got) continue;
    const Departure* known = nullptr;
    for (const auto& d : departures)
      if (d.matches(ops[i], want, got)) {
        known = &d;
        break;
      }
    if (known) {
      ++departures_seen()[known->name];
      if (known->ends_comparison) return;
      continue;
    }
    RC_FAIL("op #" + std::to_string(i) + " answers differently (no known departure):\n" +
            trace.str());
  }
}

// A registry under test for one case: the api::Registry, and whatever keeps it alive (the
// server process).
struct System {
  std::shared_ptr<void> keep_alive;
  std::unique_ptr<api::Registry> registry;
};

// A fresh registry of `kind` (started on 127.0.0.1 with empty storage) behind RemoteRegistry,
// for check_model_vs's make_system.
inline System start_system(testing::RegistryKind kind) {
  testing::RegistryProcessOptions options;
  options.kind = kind;
  auto server = testing::RegistryProcess::start(options);
  RC_ASSERT(server.has_value());
  auto remote = runtime::registry::make_remote_registry((*server)->base_url());
  RC_ASSERT(remote.has_value());
  return System{std::shared_ptr<testing::RegistryProcess>(std::move(*server)), std::move(*remote)};
}

// The property: `cases` sequences (RC_PARAMS max_success/max_size override) from
// gen_registry_ops(), each on a fresh model and a fresh system from `make_system`.
inline void check_model_vs(const std::string& name, const std::function<System()>& make_system,
                           model::registry::ModelRegistryOptions model_options,
                           const std::vector<Departure>& departures, int cases) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* env = std::getenv("RC_PARAMS");
  if (env == nullptr || std::string(env).find("max_success") == std::string::npos)
    params.maxSuccess = cases;
  if (env == nullptr || std::string(env).find("max_size") == std::string::npos) params.maxSize = 40;
  rc::detail::TestMetadata metadata;
  metadata.id = "model vs " + name;
  metadata.description = metadata.id;
  departures_seen().clear();
  auto result = rc::detail::checkTestable(
      [&] {
        auto ops = *testing::registry::gen_registry_ops();
        System system = make_system();
        model::registry::ModelRegistry model(model_options);
        compare_runs(model, *system.registry, ops, departures);
      },
      metadata, params);
  std::ostringstream out;
  rc::detail::printResultMessage(result, out);
  const bool passed = result.template is<rc::detail::SuccessResult>();
  std::cout << "- " << metadata.id << ": " << out.str() << std::endl;
  for (const auto& [departure, n] : departures_seen())
    std::cout << "  known departure " << departure << ": " << n << " time(s)" << std::endl;
  BOOST_TEST(passed, metadata.id + " (seed " + std::to_string(params.seed) +
                         ", reproduce with RC_PARAMS=\"seed=" + std::to_string(params.seed) +
                         "\")\n" + out.str());
}

}  // namespace gantry::testing::registry_http
