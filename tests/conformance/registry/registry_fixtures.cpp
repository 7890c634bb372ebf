#include "tests/conformance/registry/registry_fixtures.h"

#include <nlohmann/json.hpp>

namespace gantry::testing::registry {

using ojson = nlohmann::ordered_json;

std::string digest_of(std::string_view bytes) {
  return Digest::of(bytes).str();
}

namespace {

ojson descriptor(std::string_view media_type, const std::string& bytes) {
  ojson d;
  d["mediaType"] = media_type;
  d["digest"] = digest_of(bytes);
  d["size"] = bytes.size();
  return d;
}

}  // namespace

std::string image_manifest(const ImageSpec& spec) {
  ojson m;
  m["schemaVersion"] = 2;
  if (spec.write_media_type) m["mediaType"] = spec.media_type;
  if (spec.artifact_type) m["artifactType"] = *spec.artifact_type;
  m["config"] = descriptor(spec.config_media_type, spec.config);
  m["layers"] = ojson::array();
  for (const auto& l : spec.layers) m["layers"].push_back(descriptor(spec.layer_media_type, l));
  if (spec.subject) m["subject"] = descriptor(spec.subject_media_type, *spec.subject);
  if (!spec.annotations.empty()) m["annotations"] = spec.annotations;
  return m.dump();
}

std::string index_manifest(const std::vector<IndexChild>& children, std::string_view media_type,
                           const std::optional<std::string>& artifact_type) {
  ojson m;
  m["schemaVersion"] = 2;
  m["mediaType"] = media_type;
  if (artifact_type) m["artifactType"] = *artifact_type;
  m["manifests"] = ojson::array();
  for (const auto& c : children) m["manifests"].push_back(descriptor(c.media_type, c.bytes));
  return m.dump();
}

api::RegistryResult<api::ManifestCreated> push_image(api::Registry& r, const std::string& repo,
                                                     const ImageSpec& spec,
                                                     const std::string& reference) {
  std::vector<std::string> blobs = {spec.config};
  blobs.insert(blobs.end(), spec.layers.begin(), spec.layers.end());
  for (const auto& b : blobs) {
    auto pushed = r.push_blob(repo, digest_of(b), b);
    if (!pushed) return pushed.error();
  }
  return r.put_manifest(repo, reference, spec.media_type, image_manifest(spec));
}

std::string blob_bytes(int seed, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed) * 7919 + (i >> 8)) & 0xff);
  return s;
}

}  // namespace gantry::testing::registry
