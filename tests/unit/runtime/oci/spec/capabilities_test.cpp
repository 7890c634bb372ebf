// Capability names <-> numbers against the kernel headers, masks, and the launcher's plan.
#include "runtime/oci/spec/capabilities.h"

#include <linux/capability.h>

#include <boost/test/unit_test.hpp>

namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;

BOOST_AUTO_TEST_SUITE(oci_capabilities)

BOOST_AUTO_TEST_CASE(names_match_kernel_numbers) {
  BOOST_TEST(*spec::capability_number("CAP_CHOWN") == CAP_CHOWN);
  BOOST_TEST(*spec::capability_number("CAP_NET_ADMIN") == CAP_NET_ADMIN);
  BOOST_TEST(*spec::capability_number("CAP_SYS_ADMIN") == CAP_SYS_ADMIN);
  BOOST_TEST(*spec::capability_number("CAP_AUDIT_READ") == CAP_AUDIT_READ);
  BOOST_TEST(*spec::capability_number("CAP_PERFMON") == CAP_PERFMON);
  BOOST_TEST(*spec::capability_number("CAP_CHECKPOINT_RESTORE") == CAP_CHECKPOINT_RESTORE);
  BOOST_TEST(!spec::capability_number("CAP_FOO"));
  BOOST_TEST(!spec::capability_number("cap_chown"));
  BOOST_TEST(!spec::capability_number("CHOWN"));
  BOOST_TEST(spec::all_capability_names().size() == static_cast<size_t>(CAP_LAST_CAP + 1));
  for (int c = 0; c <= CAP_LAST_CAP; ++c)
    BOOST_TEST(*spec::capability_number(spec::capability_name(c)) == c);
  BOOST_TEST(spec::capability_name(-1).empty());
  BOOST_TEST(spec::capability_name(CAP_LAST_CAP + 1).empty());
}

BOOST_AUTO_TEST_CASE(mask_and_errors) {
  auto m = spec::capability_mask({"CAP_KILL", "CAP_BPF", "CAP_KILL"}, "x");
  BOOST_REQUIRE(m);
  BOOST_TEST(*m == ((uint64_t{1} << CAP_KILL) | (uint64_t{1} << CAP_BPF)));
  auto bad = spec::capability_mask({"CAP_KILL", "CAP_FOO"}, "process.capabilities.bounding");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(bad.error().message() ==
             "process.capabilities.bounding[1]: unknown capability 'CAP_FOO'");
}

BOOST_AUTO_TEST_CASE(plan_for_runc_default) {
  spec::Capabilities c;
  c.bounding = c.effective = c.permitted =
      c.ambient = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  auto p = spec::capability_plan(c);
  BOOST_REQUIRE(p);
  uint64_t want = (uint64_t{1} << CAP_AUDIT_WRITE) | (uint64_t{1} << CAP_KILL) |
                  (uint64_t{1} << CAP_NET_BIND_SERVICE);
  BOOST_TEST(p->bounding == want);
  BOOST_TEST(p->effective == want);
  BOOST_TEST(p->permitted == want);
  BOOST_TEST(p->inheritable == 0u);
  BOOST_TEST(p->bounding_drop.size() == static_cast<size_t>(CAP_LAST_CAP + 1 - 3));
  // Not inheritable, so the kernel would refuse to raise them: skipped as runc does.
  BOOST_TEST(p->ambient_raise.empty());
  BOOST_TEST(p->ambient_skipped ==
             std::vector<int>({CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE}));
  BOOST_TEST(p->effective_word(0) == static_cast<uint32_t>(want));
  BOOST_TEST(p->effective_word(1) == static_cast<uint32_t>(want >> 32));

  c.inheritable = {"CAP_KILL"};
  p = spec::capability_plan(c);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->ambient_raise == std::vector<int>({CAP_KILL}));
}

BOOST_AUTO_TEST_CASE(absent_capabilities_drop_everything) {
  auto p = spec::capability_plan(std::nullopt);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->bounding == 0u);
  BOOST_TEST(p->bounding_drop.size() == static_cast<size_t>(CAP_LAST_CAP + 1));
  BOOST_TEST(p->ambient_raise.empty());
}

BOOST_AUTO_TEST_CASE(high_caps_use_the_second_word) {
  spec::Capabilities c;
  c.permitted = {"CAP_CHECKPOINT_RESTORE"};
  auto p = spec::capability_plan(c);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->permitted_word(0) == 0u);
  BOOST_TEST(p->permitted_word(1) == (1u << (CAP_CHECKPOINT_RESTORE - 32)));
  c.ambient = {"CAP_NOPE"};
  auto bad = spec::capability_plan(c);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message().rfind("process.capabilities.ambient[0]:", 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
