// `features`: the runtime-spec's features document, built by the spec library from the same
// tables the config parser checks against.
#include "runtime/oci/spec/features.h"
#include "runtime/oci/operations.h"

namespace gantry::runtime::oci {

std::string features() {
  return spec::features_json();
}

}  // namespace gantry::runtime::oci
