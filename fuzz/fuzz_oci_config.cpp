// Parses arbitrary bytes as config.json and as an exec process.json. Must never crash; a
// refusal is invalid_argument or not_implemented with a message; an accepted document keeps
// the rules parse_spec promises (absolute cwd, unique namespace types, resolved rlimits,
// mount options that translate, mappings when a user namespace is created).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "runtime/oci/spec/capabilities.h"
#include "runtime/oci/spec/mount_options.h"
#include "runtime/oci/spec/spec.h"

namespace spec = gantry::runtime::oci::spec;

namespace {

[[noreturn]] void fail(const std::string& detail) {
  std::fprintf(stderr, "fuzz_oci_config: %s\n", detail.c_str());
  std::abort();
}

void check_refusal(const gantry::Error& e) {
  if (e.kind() != gantry::ErrorKind::invalid_argument &&
      e.kind() != gantry::ErrorKind::not_implemented)
    fail("unexpected error kind: " + e.to_string());
  if (e.message().empty()) fail("empty error message");
}

void check_process(const spec::Process& p) {
  if (p.cwd.empty() || p.cwd[0] != '/') fail("accepted a relative cwd: " + p.cwd);
  if (p.args.empty()) fail("accepted empty args");
  std::set<int> seen;
  for (const auto& r : p.rlimits) {
    if (!seen.insert(r.resource).second) fail("accepted a duplicate rlimit " + r.type);
    if (r.soft > r.hard) fail("accepted soft > hard");
  }
  if (!spec::capability_plan(p.capabilities)) fail("accepted capabilities the plan refuses");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto s = spec::parse_spec(input);
  if (!s) {
    check_refusal(s.error());
  } else {
    if (s->process) check_process(*s->process);
    std::set<spec::NamespaceType> types;
    for (const auto& ns : s->linux.namespaces)
      if (!types.insert(ns.type).second) fail("accepted a duplicate namespace");
    const spec::Namespace* user = s->linux.find_namespace(spec::NamespaceType::user);
    if (user && user->path.empty() &&
        (s->linux.uid_mappings.empty() || s->linux.gid_mappings.empty()))
      fail("accepted a new user namespace without mappings");
    for (const auto& m : s->mounts) {
      if (m.destination.empty() || m.destination[0] != '/') fail("relative mount destination");
      if (!spec::parse_mount_options(m.options)) fail("accepted options that do not translate");
    }
    if (!spec::rootfs_propagation_flags(s->linux.rootfs_propagation))
      fail("accepted an unknown rootfsPropagation");
  }
  auto p = spec::parse_process(input);
  if (!p) {
    check_refusal(p.error());
  } else {
    check_process(*p);
  }
  return 0;
}
