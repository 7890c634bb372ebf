// Mount options: flags set and cleared, propagation, recursive attributes, data, extensions.
#include "runtime/oci/spec/mount_options.h"

#include <sys/mount.h>

#include <boost/test/unit_test.hpp>

namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;

BOOST_AUTO_TEST_SUITE(oci_mount_options)

BOOST_AUTO_TEST_CASE(runc_default_dev_mount) {
  auto o = spec::parse_mount_options({"nosuid", "strictatime", "mode=755", "size=65536k"});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->mount_flags() == (MS_NOSUID | MS_STRICTATIME));
  BOOST_TEST(o->data == "mode=755,size=65536k");
  BOOST_TEST(!o->bind);
  BOOST_TEST(o->propagation.empty());
  BOOST_TEST(!o->has_recursive_attrs());
}

BOOST_AUTO_TEST_CASE(later_options_win) {
  auto o = spec::parse_mount_options({"ro", "nodev", "rw", "dev", "noexec"});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->mount_flags() == MS_NOEXEC);
  BOOST_TEST((o->flags_clear & MS_RDONLY) != 0u);
  BOOST_TEST((o->flags_clear & MS_NODEV) != 0u);
  auto back = spec::parse_mount_options({"rw", "ro"});
  BOOST_TEST(back->mount_flags() == MS_RDONLY);
  BOOST_TEST((back->flags_clear & MS_RDONLY) == 0u);
}

BOOST_AUTO_TEST_CASE(binds_and_propagation) {
  auto o = spec::parse_mount_options({"rbind", "rprivate", "ro", "shared"});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->bind);
  BOOST_TEST(o->recursive_bind);
  BOOST_TEST(o->mount_flags() == (MS_BIND | MS_REC | MS_RDONLY));
  BOOST_TEST(o->propagation == std::vector<unsigned long>({MS_PRIVATE | MS_REC, MS_SHARED}));
  auto b = spec::parse_mount_options(
      {"bind", "slave", "runbindable", "unbindable", "rslave", "private", "rshared"});
  BOOST_REQUIRE(b);
  BOOST_TEST(b->mount_flags() == MS_BIND);
  BOOST_TEST(!b->recursive_bind);
  BOOST_TEST(b->propagation.size() == 6u);
}

BOOST_AUTO_TEST_CASE(recursive_attributes) {
  auto o = spec::parse_mount_options({"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                             MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME));
  BOOST_TEST(o->attr_clear == MOUNT_ATTR__ATIME);
  BOOST_TEST(o->mount_flags() == (MS_BIND | MS_REC));
  auto c = spec::parse_mount_options({"rro", "rrw", "rexec", "rstrictatime", "ratime"});
  BOOST_REQUIRE(c);
  BOOST_TEST(c->attr_set == MOUNT_ATTR_RELATIME);
  BOOST_TEST(c->attr_clear == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC | MOUNT_ATTR__ATIME));
}

BOOST_AUTO_TEST_CASE(unknown_options_are_data_extensions_refused) {
  auto o = spec::parse_mount_options({"newinstance", "ptmxmode=0666", "nosuid", "gid=5"});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->data == "newinstance,ptmxmode=0666,gid=5");
  auto t = spec::parse_mount_options({"nosuid", "tmpcopyup"}, "mounts[3].options");
  BOOST_REQUIRE(!t);
  BOOST_TEST(t.error().kind() == ErrorKind::not_implemented);
  BOOST_TEST(t.error().message() == "mounts[3].options[1]: 'tmpcopyup' is not supported");
  BOOST_TEST(spec::parse_mount_options({"idmap"}).error().kind() == ErrorKind::not_implemented);
  auto e = spec::parse_mount_options({""});
  BOOST_REQUIRE(!e);
  BOOST_TEST(e.error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(rootfs_propagation) {
  BOOST_TEST(*spec::rootfs_propagation_flags("") == 0u);
  BOOST_TEST(*spec::rootfs_propagation_flags("rslave") == (MS_SLAVE | MS_REC));
  BOOST_TEST(*spec::rootfs_propagation_flags("private") == MS_PRIVATE);
  BOOST_TEST(*spec::rootfs_propagation_flags("runbindable") == (MS_UNBINDABLE | MS_REC));
  auto bad = spec::rootfs_propagation_flags("rfoo");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message().rfind("linux.rootfsPropagation:", 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
