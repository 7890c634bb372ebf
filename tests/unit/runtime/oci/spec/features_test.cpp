// The features document has runc's shape and lists what the translators accept.
#include "runtime/oci/spec/features.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "runtime/oci/spec/capabilities.h"
#include "runtime/oci/spec/mount_options.h"
#include "runtime/oci/spec/seccomp.h"

namespace spec = gantry::runtime::oci::spec;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(oci_features)

BOOST_AUTO_TEST_CASE(shape_matches_runc) {
  std::string text = spec::features_json();
  BOOST_TEST(text.back() == '\n');
  json f = json::parse(text);
  for (const char* key :
       {"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations"})
    BOOST_TEST(f.contains(key), key);
  for (const char* key : {"namespaces", "capabilities", "cgroup", "seccomp", "apparmor", "selinux"})
    BOOST_TEST(f["linux"].contains(key), key);
  BOOST_TEST(f["ociVersionMin"] == "1.0.0");
  BOOST_TEST(f["hooks"].size() == 6u);
  BOOST_TEST(f["linux"]["seccomp"]["enabled"] == true);
  BOOST_TEST(f["linux"]["seccomp"]["operators"].size() == 7u);
  for (const char* key : {"actions", "operators", "archs", "knownFlags", "supportedFlags"})
    BOOST_TEST(f["linux"]["seccomp"][key].is_array(), key);
  for (const char* key : {"v1", "v2", "systemd", "systemdUser"})
    BOOST_TEST(f["linux"]["cgroup"][key].is_boolean(), key);
  BOOST_TEST(f["linux"]["capabilities"].size() == spec::all_capability_names().size());
  BOOST_TEST(f["linux"]["capabilities"][0] == "CAP_CHOWN");
}

BOOST_AUTO_TEST_CASE(everything_listed_is_accepted) {
  json f = json::parse(spec::features_json());
  for (const auto& o : f["mountOptions"]) {
    auto r = spec::parse_mount_options({o.get<std::string>()});
    BOOST_TEST(r.has_value(), o);
    // Known options never fall through to file system data.
    if (r) BOOST_TEST(r->data.empty(), o);
  }
  for (const auto& a : f["linux"]["seccomp"]["actions"])
    BOOST_TEST(spec::seccomp_action_base(a.get<std::string>()).has_value(), a);
  // runc lists these mount options; so do we (tmpcopyup excepted: refused).
  for (const char* o : {"rbind", "rro", "rnosymfollow", "ratime", "nosymfollow", "remount"}) {
    bool listed = false;
    for (const auto& m : f["mountOptions"]) listed |= (m == o);
    BOOST_TEST(listed, o);
  }
}

BOOST_AUTO_TEST_SUITE_END()
