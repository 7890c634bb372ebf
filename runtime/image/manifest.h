// Image documents: descriptors, manifests, indexes and image configs, as the OCI image-spec
// and Docker's schema 2 define them (the two share one shape; the mediaType tells them apart).
//
// parse_* accept JSON text and return the document or invalid_argument naming the field and
// the reason ("manifest: field 'layers[1].size': negative (-3)"). to_json gives the canonical
// bytes: compact, keys in ascending bytewise order, empty optional fields left out. The sha256
// of those bytes is the digest of a document we write. Documents read from elsewhere keep
// their own bytes (and digest): we never re-serialize what we did not write.
//
// Round trip: for every text t that parses to d, parse(to_json(d)) == d.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/base/digest.h"
#include "model/base/result.h"

namespace gantry::runtime::image {

using Annotations = std::map<std::string, std::string>;

// Annotation keys we act on.
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

struct Platform {
  std::string architecture;  // GOARCH spelling: amd64, arm64, arm, 386, ppc64le, s390x...
  std::string os;            // linux, windows...
  std::string variant;       // v7, v8...; empty when none
  std::string os_version;    // "os.version"
  std::vector<std::string> os_features;  // "os.features"

  friend bool operator==(const Platform&, const Platform&) = default;
};

// The platform this program was built for ({"amd64", "linux"} on x86_64 Linux).
Platform current_platform();
// "linux/arm64/v8", "linux/amd64".
std::string to_string(const Platform& p);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  Annotations annotations;
  std::optional<Platform> platform;
  std::optional<std::string> artifact_type;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

struct ImageManifest {
  int schema_version = 2;
  std::string media_type;  // may be empty in OCI manifests
  std::optional<std::string> artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  Annotations annotations;
  std::optional<Descriptor> subject;

  friend bool operator==(const ImageManifest&, const ImageManifest&) = default;
};

struct ImageIndex {
  int schema_version = 2;
  std::string media_type;  // may be empty (an OCI layout's index.json usually has none)
  std::optional<std::string> artifact_type;
  std::vector<Descriptor> manifests;
  Annotations annotations;
  std::optional<Descriptor> subject;

  friend bool operator==(const ImageIndex&, const ImageIndex&) = default;
};

// The "config" member of an image config: how to run a container of the image. The fields we
// interpret are typed; the rest (ExposedPorts, Volumes, StopSignal, Healthcheck...) stay as
// JSON in `other`, and come back out unchanged.
struct ContainerConfig {
  std::string user;                                    // User
  std::vector<std::string> env;                        // Env
  std::optional<std::vector<std::string>> entrypoint;  // Entrypoint (absent/null vs [])
  std::optional<std::vector<std::string>> cmd;         // Cmd
  std::string working_dir;                             // WorkingDir
  std::map<std::string, std::string> labels;           // Labels
  nlohmann::json other = nlohmann::json::object();

  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct RootFs {
  std::string type = "layers";
  std::vector<Digest> diff_ids;

  friend bool operator==(const RootFs&, const RootFs&) = default;
};

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;

  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, as written; empty when absent
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;  // "os.version"
  std::optional<ContainerConfig> config;
  RootFs rootfs;
  std::vector<HistoryEntry> history;
  // Top-level members we do not interpret (docker's container_config, docker_version...).
  nlohmann::json other = nlohmann::json::object();

  friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

Result<Descriptor> parse_descriptor(std::string_view json_text);
Result<ImageManifest> parse_manifest(std::string_view json_text);
Result<ImageIndex> parse_index(std::string_view json_text);
Result<ImageConfig> parse_config(std::string_view json_text);
// A manifest or an index, told apart by mediaType or, when it has none, by its members.
Result<std::variant<ImageManifest, ImageIndex>> parse_manifest_or_index(std::string_view json_text);

// From already parsed JSON (for documents nested in others).
Result<Descriptor> descriptor_from_json(const nlohmann::json& j);

nlohmann::json to_json_value(const Descriptor& d);
std::string to_json(const Descriptor& d);
std::string to_json(const ImageManifest& m);
std::string to_json(const ImageIndex& i);
std::string to_json(const ImageConfig& c);

}  // namespace gantry::runtime::image
