#include <signal.h>

#include <boost/test/unit_test.hpp>

#include "runtime/oci/operations.h"

namespace oci = gantry::runtime::oci;

BOOST_AUTO_TEST_SUITE(oci_signal_and_size)

BOOST_AUTO_TEST_CASE(signals_by_name_and_number) {
  for (const char* s : {"KILL", "SIGKILL", "kill", "9", "sigkill"}) {
    auto r = oci::parse_signal(s);
    BOOST_REQUIRE_MESSAGE(r.has_value(), s);
    BOOST_TEST(*r == SIGKILL);
  }
  BOOST_TEST(*oci::parse_signal("TERM") == SIGTERM);
  BOOST_TEST(*oci::parse_signal("SIGUSR1") == SIGUSR1);
  BOOST_TEST(*oci::parse_signal("SIGRTMIN+2") == SIGRTMIN + 2);
  BOOST_TEST(*oci::parse_signal("RTMAX-1") == SIGRTMAX - 1);
  for (const char* bad : {"", "FOO", "0", "-9", "999", "SIG", "9x", "SIGRTMIN+99"}) {
    auto r = oci::parse_signal(bad);
    BOOST_TEST(!r.has_value(), bad);
    if (!r) BOOST_TEST((r.error().kind() == gantry::ErrorKind::invalid_argument));
  }
}

BOOST_AUTO_TEST_CASE(sizes_with_units) {
  BOOST_TEST(*oci::parse_size_bytes("1048576") == 1048576);
  BOOST_TEST(*oci::parse_size_bytes("512k") == 512 * 1024);
  BOOST_TEST(*oci::parse_size_bytes("64M") == 64LL << 20);
  BOOST_TEST(*oci::parse_size_bytes("1g") == 1LL << 30);
  BOOST_TEST(*oci::parse_size_bytes("2MiB") == 2LL << 20);
  BOOST_TEST(*oci::parse_size_bytes("-1") == -1);
  for (const char* bad : {"", "m", "12x", "-2", "99999999999999999999t"}) {
    BOOST_TEST(!oci::parse_size_bytes(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
