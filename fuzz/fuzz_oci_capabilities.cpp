// Arbitrary bytes as capability lists (one name per line; a line "--" starts the next set:
// bounding, effective, inheritable, permitted, ambient). Must never crash; an accepted plan
// keeps its invariants: masks within the known capabilities, bounding + dropped = all,
// ambient raised only when permitted and inheritable, names <-> numbers round trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/oci/spec/capabilities.h"

namespace spec = gantry::runtime::oci::spec;

namespace {

[[noreturn]] void fail(const std::string& detail) {
  std::fprintf(stderr, "fuzz_oci_capabilities: %s\n", detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  spec::Capabilities caps;
  std::vector<std::string>* sets[] = {&caps.bounding, &caps.effective, &caps.inheritable,
                                      &caps.permitted, &caps.ambient};
  size_t set = 0;
  while (!input.empty() && set < 5) {
    size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    if (line == "--") {
      ++set;
      continue;
    }
    sets[set]->emplace_back(line);
  }
  const uint64_t all = (uint64_t{1} << (spec::kLastCapability + 1)) - 1;
  for (auto* names : sets) {
    for (const auto& n : *names) {
      auto num = spec::capability_number(n);
      if (num && spec::capability_name(*num) != n) fail("name round trip: " + n);
    }
  }
  auto plan = spec::capability_plan(caps);
  if (!plan) {
    if (plan.error().kind() != gantry::ErrorKind::invalid_argument)
      fail("unexpected error kind: " + plan.error().to_string());
    if (plan.error().message().find("unknown capability") == std::string::npos)
      fail("error does not say why: " + plan.error().message());
    return 0;
  }
  for (uint64_t m :
       {plan->bounding, plan->effective, plan->permitted, plan->inheritable, plan->ambient})
    if (m & ~all) fail("mask beyond the last capability");
  uint64_t dropped = 0;
  for (int c : plan->bounding_drop) dropped |= uint64_t{1} << c;
  if ((dropped | plan->bounding) != all || (dropped & plan->bounding) != 0)
    fail("bounding and dropped do not partition the capabilities");
  uint64_t raised = 0;
  for (int c : plan->ambient_raise) raised |= uint64_t{1} << c;
  if (raised & ~(plan->permitted & plan->inheritable)) fail("raises a non-raisable ambient cap");
  uint64_t skipped = 0;
  for (int c : plan->ambient_skipped) skipped |= uint64_t{1} << c;
  if ((raised | skipped) != plan->ambient) fail("ambient not fully accounted for");
  return 0;
}
