// The parent <-> child messages: encoding round trips, malformed bytes are refused with a
// reason, an unexpected message is "expected X, got Y", a child's error keeps kind and errno.
#include <boost/test/unit_test.hpp>

#include "runtime/oci/launch/sync.h"

namespace launch = gantry::runtime::oci::launch;
using gantry::ErrorKind;
using launch::Message;
using launch::MsgType;

BOOST_AUTO_TEST_SUITE(oci_launch_sync)

BOOST_AUTO_TEST_CASE(round_trip_every_type) {
  for (MsgType t : {MsgType::init_pid, MsgType::ids_mapped, MsgType::mounts_done,
                    MsgType::hooks_done, MsgType::ready, MsgType::error}) {
    Message m = Message::of(t);
    m.pid = 4242;
    auto bytes = launch::encode(m);
    auto back = launch::decode(bytes.data(), bytes.size());
    BOOST_REQUIRE(back.has_value());
    BOOST_CHECK(back->type == t);
    BOOST_CHECK_EQUAL(back->pid, 4242);
  }
}

BOOST_AUTO_TEST_CASE(error_message_round_trip) {
  Message m = Message::from_error("prepare the rootfs",
                                  gantry::errno_error(ENOENT, "mounts[3] ('/data'): bind source"));
  auto bytes = launch::encode(m);
  auto back = launch::decode(bytes.data(), bytes.size());
  BOOST_REQUIRE(back.has_value());
  auto e = back->to_error();
  BOOST_CHECK_EQUAL(e.kind(), ErrorKind::not_found);
  BOOST_CHECK_EQUAL(e.errno_value(), ENOENT);
  BOOST_CHECK_EQUAL(e.message(), "prepare the rootfs: mounts[3] ('/data'): bind source");
}

BOOST_AUTO_TEST_CASE(malformed_bytes_are_refused) {
  auto bytes = launch::encode(Message::from_error("step", gantry::Error(ErrorKind::internal, "m")));
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = launch::decode(bytes.data(), n);
    BOOST_REQUIRE(!r);
    BOOST_CHECK_EQUAL(r.error().kind(), ErrorKind::invalid_argument);
  }
  auto extra = bytes;
  extra.push_back(0);
  BOOST_CHECK_EQUAL(launch::decode(extra.data(), extra.size()).error().message(),
                    "sync message: trailing bytes");
  auto bad_type = bytes;
  bad_type[0] = 99;
  BOOST_CHECK_EQUAL(launch::decode(bad_type.data(), bad_type.size()).error().message(),
                    "sync message: unknown type 99");
  auto bad_kind = bytes;
  bad_kind[9] = 200;
  BOOST_CHECK_EQUAL(launch::decode(bad_kind.data(), bad_kind.size()).error().message(),
                    "sync message: unknown error kind 200");
}

BOOST_AUTO_TEST_CASE(expect_names_what_it_got) {
  auto channels = launch::SyncChannel::pair();
  BOOST_REQUIRE(channels.has_value());
  auto& [parent, child] = *channels;
  BOOST_REQUIRE(child.send(Message::of(MsgType::mounts_done)).has_value());
  auto r = parent.expect(MsgType::ready);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().kind(), ErrorKind::internal);
  BOOST_CHECK_EQUAL(r.error().message(), "sync: expected ready, got mounts_done");

  child.send_error("pivot_root", gantry::errno_error(EINVAL, "pivot_root '.'"));
  auto e = parent.expect(MsgType::ready);
  BOOST_REQUIRE(!e);
  BOOST_CHECK_EQUAL(e.error().kind(), ErrorKind::invalid_argument);
  BOOST_CHECK_EQUAL(e.error().errno_value(), EINVAL);
  BOOST_CHECK_EQUAL(e.error().message(), "pivot_root: pivot_root '.'");

  child.close();
  auto eof = parent.expect(MsgType::ready);
  BOOST_REQUIRE(!eof);
  BOOST_CHECK_EQUAL(eof.error().message(),
                    "sync: expected ready, got end of stream (the other side exited)");
}

BOOST_AUTO_TEST_SUITE_END()
