// Arbitrary bytes as the linux.seccomp object of an otherwise valid config.json: parse_spec,
// then the seccomp translator (libseccomp). Must never crash; every refusal is
// invalid_argument or not_implemented; a compiled program is whole instructions within the
// kernel's limit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/oci/spec/seccomp.h"
#include "runtime/oci/spec/spec.h"

namespace spec = gantry::runtime::oci::spec;

namespace {

[[noreturn]] void fail(const std::string& detail) {
  std::fprintf(stderr, "fuzz_oci_seccomp: %s\n", detail.c_str());
  std::abort();
}

void check_refusal(const gantry::Error& e) {
  if (e.kind() != gantry::ErrorKind::invalid_argument &&
      e.kind() != gantry::ErrorKind::not_implemented)
    fail("unexpected error kind: " + e.to_string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Large inputs only make libseccomp slower, not the parser more interesting.
  if (size > 8192) return 0;
  std::string doc = R"({"ociVersion":"1.1.0","root":{"path":"rootfs"},"linux":{"seccomp":)";
  doc.append(reinterpret_cast<const char*>(data), size);
  doc += "}}";
  auto s = spec::parse_spec(doc);
  if (!s) {
    check_refusal(s.error());
    return 0;
  }
  if (!s->linux.seccomp) return 0;
  auto p = spec::compile_seccomp(*s->linux.seccomp);
  if (!p) {
    check_refusal(p.error());
    return 0;
  }
  if (p->filter.empty() || p->filter.size() > 4096) fail("program of bad length");
  if (p->bytes().size() != p->filter.size() * sizeof(sock_filter)) fail("bytes() size");
  return 0;
}
