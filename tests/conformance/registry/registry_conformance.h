// The registry conformance suite: named checks of the api::Registry contract (the OCI
// distribution spec 1.1 as the model reads it), run against any implementation through a
// factory. Each check gets a fresh, empty registry from the factory and reports what departed
// from the contract, as text; nothing here depends on a test framework, so the same checks
// run under Boost.Test (tests/conformance/registry) and from a command line.
//
// A backend that departs from the model on purpose (a registry with tag deletion disabled, one
// without the referrers API) lists the checks it is known to fail in its own test, which
// reports them as known departures instead of failures.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/api/registry.h"

namespace gantry::testing::registry {

using RegistryFactory = std::function<std::unique_ptr<api::Registry>()>;

// Collects what a check found wrong.
class Checker {
 public:
  void expect(bool ok, const std::string& what);
  // The outcome succeeded with `status`.
  void expect_ok(const api::RegistryOutcome& got, int status, const std::string& what);
  // The outcome failed with `code` and `status` (the code's default status when 0).
  void expect_error(const api::RegistryOutcome& got, api::RegistryErrorCode code,
                    const std::string& what, int status = 0);
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  std::vector<std::string> failures_;
};

// What a check drives: the registry and the sessions started so far (ops refer to sessions by
// index), and the shorthand to run an op.
struct CheckContext {
  api::Registry& registry;
  api::SessionBook sessions;
  Checker& check;
  api::RegistryOutcome run(const api::RegistryOp& op) { return api::apply(registry, sessions, op); }
};

struct RegistryCheck {
  std::string name;
  std::string rule;  // the spec's rule it checks, in one line
  std::function<void(CheckContext&)> run;
};

// Every check, in a fixed order.
const std::vector<RegistryCheck>& registry_checks();

struct CheckReport {
  std::string name;
  std::vector<std::string> failures;
};

// Runs one check on a fresh registry from the factory.
CheckReport run_registry_check(const RegistryCheck& check, const RegistryFactory& factory);

}  // namespace gantry::testing::registry
