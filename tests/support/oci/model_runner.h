// The model's operations (model/oci: Create, Start, Kill, ...) played on a real runtime through
// RuntimeDriver, each answered with the model's Outcome type so the two compare directly.
//
// Settling (model/oci/oci_model.h): after each op the runner waits, with a timeout, until the
// real containers have caught up with what the model says they did at once: an init the model
// says has exited is waited for (and reaped, giving its exit status), and a container's stdout
// is waited for until it holds what the model says was printed (so a trap is installed before
// the next signal arrives, and a `print` trap's line is written before it is compared). A
// timeout is not an error here: the comparison that follows shows the difference.
//
// Error kinds: a runtime says only "exit status 1 and a message", so the runner's outcome for
// a failed command has ErrorKind::internal and compare() treats any two errors as agreeing
// (what must agree is error vs success, and the state afterwards).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/oci/oci_model.h"
#include "tests/support/oci/bundle.h"
#include "tests/support/oci/runtime_driver.h"

namespace gantry::testing::oci {

class ModelRunner {
 public:
  explicit ModelRunner(RuntimeDriver& driver) : driver_(driver) {}

  // Plays op on the runtime. `model_after` is the model once it has applied op (it says what
  // to settle for). The command's own text goes to `log` when it failed, for the failure
  // message.
  model::oci::Outcome run(const model::oci::OciOp& op, const model::oci::OciModel& model_after,
                          std::string& log);

  // Deletes every container (--force) and drops the bundles.
  void cleanup();

 private:
  model::oci::Outcome create(const model::oci::Create& op, std::string& log);
  model::oci::Outcome exec(const model::oci::Exec& op, std::string& log);
  model::oci::Outcome wait(const model::oci::Wait& op, const model::oci::OciModel& model_after,
                           std::string& log);
  void settle(const model::oci::OciModel& model_after);

  RuntimeDriver& driver_;
  std::map<std::string, std::unique_ptr<Bundle>> bundles_;
};

// True when the real outcome agrees with the model's: both errors (any kinds), or both
// successes with the same state, exit status and (normalized) output.
bool agree(const model::oci::Outcome& expected, const model::oci::Outcome& actual);

// An exit status as one number: the code, or 128 + the signal.
int status_number(const runtime::sys::ExitStatus& status);

}  // namespace gantry::testing::oci
