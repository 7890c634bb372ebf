#include "model/api/registry_manifest.h"

#include <nlohmann/json.hpp>

#include "model/api/registry_names.h"

namespace gantry::api {

using api::RegistryError;
using api::RegistryErrorCode;
using json = nlohmann::json;

namespace {

RegistryError invalid(std::string message) {
  return RegistryError(RegistryErrorCode::manifest_invalid, std::move(message));
}

struct DescriptorFields {
  std::string media_type;
  Digest digest;
};

api::RegistryResult<DescriptorFields> read_descriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return invalid(where + ": not an object");
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string())
    return invalid(where + ".mediaType: missing or not a string");
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return invalid(where + ".digest: missing or not a string");
  auto d = Digest::parse(dg->get<std::string>());
  if (!d)
    return invalid(where + ".digest: '" + dg->get<std::string>() + "' is not a sha256 digest");
  auto sz = j.find("size");
  if (sz == j.end() || !(sz->is_number_unsigned() || (sz->is_number_integer() && *sz >= 0)))
    return invalid(where + ".size: missing or not a non-negative integer");
  return DescriptorFields{mt->get<std::string>(), *d};
}

api::RegistryResult<std::vector<Digest>> read_descriptors(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end()) return invalid(std::string(field) + ": missing");
  if (!it->is_array()) return invalid(std::string(field) + ": not an array");
  std::vector<Digest> out;
  for (size_t i = 0; i < it->size(); ++i) {
    auto d = read_descriptor((*it)[i], std::string(field) + "[" + std::to_string(i) + "]");
    if (!d) return d.error();
    out.push_back(d->digest);
  }
  return out;
}

api::RegistryResult<bool> read_common(const json& body, ParsedManifest& m) {
  if (auto at = body.find("artifactType"); at != body.end()) {
    if (!at->is_string()) return invalid("artifactType: not a string");
    m.artifact_type = at->get<std::string>();
  }
  if (auto an = body.find("annotations"); an != body.end()) {
    if (!an->is_object()) return invalid("annotations: not an object");
    for (const auto& [k, v] : an->items()) {
      if (!v.is_string()) return invalid("annotations." + k + ": not a string");
      m.annotations[k] = v.get<std::string>();
    }
  }
  if (auto sub = body.find("subject"); sub != body.end()) {
    auto d = read_descriptor(*sub, "subject");
    if (!d) return d.error();
    m.subject = d->digest;
  }
  return true;
}

}  // namespace

std::optional<ManifestKind> manifest_kind_of(std::string_view media_type) {
  if (media_type == api::kOciManifestType || media_type == api::kDockerManifestType)
    return ManifestKind::image;
  if (media_type == api::kOciIndexType || media_type == api::kDockerManifestListType)
    return ManifestKind::index;
  return std::nullopt;
}

api::RegistryResult<ParsedManifest> parse_manifest(std::string_view media_type,
                                                   std::string_view bytes) {
  auto kind = manifest_kind_of(media_type);
  if (!kind) return invalid("unsupported manifest media type '" + std::string(media_type) + "'");
  json body = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return invalid("body is not JSON");
  if (!body.is_object()) return invalid("body is not a JSON object");

  auto sv = body.find("schemaVersion");
  if (sv == body.end() || !sv->is_number_integer() || *sv != 2)
    return invalid("schemaVersion: must be 2");
  auto mt = body.find("mediaType");
  if (mt != body.end()) {
    if (!mt->is_string()) return invalid("mediaType: not a string");
    if (mt->get<std::string>() != media_type)
      return invalid("mediaType '" + mt->get<std::string>() + "' differs from Content-Type '" +
                     std::string(media_type) + "'");
  } else if (media_type == api::kDockerManifestType || media_type == api::kDockerManifestListType) {
    return invalid("mediaType: missing (required by Docker schema 2)");
  }
  bool manifest_fields = body.contains("config") || body.contains("layers");
  bool index_fields = body.contains("manifests");
  if (manifest_fields && index_fields)
    return invalid("document is both a manifest (config/layers) and an index (manifests)");

  ParsedManifest m;
  m.kind = *kind;
  if (*kind == ManifestKind::image) {
    if (index_fields) return invalid("manifests: not allowed in an image manifest");
    auto cfg_it = body.find("config");
    if (cfg_it == body.end()) return invalid("config: missing");
    auto cfg = read_descriptor(*cfg_it, "config");
    if (!cfg) return cfg.error();
    auto layers = read_descriptors(body, "layers");
    if (!layers) return layers.error();
    m.blobs.push_back(cfg->digest);
    m.blobs.insert(m.blobs.end(), layers->begin(), layers->end());
    auto common = read_common(body, m);
    if (!common) return common.error();
    if (m.artifact_type.empty()) m.artifact_type = cfg->media_type;
  } else {
    if (manifest_fields) return invalid("config/layers: not allowed in an index");
    auto children = read_descriptors(body, "manifests");
    if (!children) return children.error();
    m.manifests = std::move(children).value();
    auto common = read_common(body, m);
    if (!common) return common.error();
  }
  return m;
}

}  // namespace gantry::api
