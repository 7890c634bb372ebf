// The registry model's manifest reader, reference grammar and HTTP header readers
// (model/api/registry_http.h) on arbitrary bytes. The first byte
// picks the media type; the rest is the body. Must never crash; a refusal is MANIFEST_INVALID
// (400); an accepted document is pushed into a ModelRegistry that has none of its blobs, which
// must answer MANIFEST_BLOB_UNKNOWN unless the document references nothing, and then GET gives
// the same bytes back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/api/registry_http.h"
#include "model/api/registry_manifest.h"
#include "model/api/registry_names.h"
#include "model/registry/model_registry.h"

namespace api = gantry::api;
namespace reg = gantry::api;
namespace mreg = gantry::model::registry;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_registry_manifest: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string types[] = {
      std::string(api::kOciManifestType), std::string(api::kOciIndexType),
      std::string(api::kDockerManifestType), std::string(api::kDockerManifestListType)};
  const std::string& type = types[data[0] % 4];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  // The grammar checks take any string.
  (void)reg::valid_repository_name(body);
  (void)reg::valid_tag(body);
  auto ref = reg::parse_reference(body, api::RegistryErrorCode::manifest_unknown);
  if (!ref && ref.error().http_status() >= 500) fail("reference: server error");

  // The header readers take any string; what they accept they write back the same way.
  if (auto r = api::parse_content_range(body))
    if (!api::parse_content_range(api::content_range_header(r->first, r->last - r->first + 1)))
      fail("content range does not round-trip");
  (void)api::parse_blob_range(body);
  (void)api::offset_from_upload_range(body, data[0] & 1);
  if (auto last = api::next_last_from_link(body))
    if (api::next_last_from_link(api::link_header("/v2/_catalog", 1, *last)) != *last)
      fail("Link last does not round-trip");
  auto e = api::error_from_response(400, body, api::RegistryErrorCode::manifest_invalid);
  if (e.http_status() != 400) fail("error status changed");

  auto parsed = reg::parse_manifest(type, body);
  if (!parsed) {
    if (parsed.error().code() != api::RegistryErrorCode::manifest_invalid ||
        parsed.error().http_status() != 400)
      fail("refusal is not 400 MANIFEST_INVALID: " + parsed.error().message());
    return 0;
  }
  mreg::ModelRegistry model;
  auto put = model.put_manifest("fuzz", "t", type, body);
  bool references = !parsed->blobs.empty() || !parsed->manifests.empty();
  if (references) {
    if (put || put.error().code() != api::RegistryErrorCode::manifest_blob_unknown)
      fail("a document with references was not refused for them");
    return 0;
  }
  if (!put) fail("a valid document without references was refused: " + put.error().message());
  auto got = model.get_manifest("fuzz", "t");
  if (!got || got->bytes != body || got->media_type != type) fail("GET differs from PUT");
  return 0;
}
