// `test_init report`: what the process sees of itself, as one JSON object (docs/test_init.md
// lists every field). Reading only: nothing here changes the process.
#pragma once

#include <nlohmann/json.hpp>

namespace gantry::test_init {

nlohmann::json build_report();

}  // namespace gantry::test_init
