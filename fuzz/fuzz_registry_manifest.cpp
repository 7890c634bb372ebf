// The registry model's manifest reader and reference grammar on arbitrary bytes. The first byte
// picks the media type; the rest is the body. Must never crash; a refusal is MANIFEST_INVALID
// (400); an accepted document is pushed into a ModelRegistry that has none of its blobs, which
// must answer MANIFEST_BLOB_UNKNOWN unless the document references nothing, and then GET gives
// the same bytes back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/registry/manifest.h"
#include "model/registry/model_registry.h"
#include "model/registry/names.h"

namespace api = gantry::api;
namespace reg = gantry::model::registry;

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

  auto parsed = reg::parse_manifest(type, body);
  if (!parsed) {
    if (parsed.error().code() != api::RegistryErrorCode::manifest_invalid ||
        parsed.error().http_status() != 400)
      fail("refusal is not 400 MANIFEST_INVALID: " + parsed.error().message());
    return 0;
  }
  reg::ModelRegistry model;
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
