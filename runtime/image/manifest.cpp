#include "runtime/image/manifest.h"

#include <cmath>
#include <limits>

#include "runtime/image/media_types.h"

namespace gantry::runtime::image {

namespace {

using json = nlohmann::json;

// Deeper than any real document; bounds the recursion of copies and dumps.
constexpr int kMaxDepth = 64;

std::string member_path(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

// Reads typed members of one document and names the document and the field in its errors.
class Reader {
 public:
  explicit Reader(std::string_view doc) : doc_(doc) {}

  Error error(const std::string& path, const std::string& reason) const {
    return Error(ErrorKind::invalid_argument,
                 std::string(doc_) + ": field '" + path + "': " + reason);
  }
  Error error(const std::string& reason) const {
    return Error(ErrorKind::invalid_argument, std::string(doc_) + ": " + reason);
  }

  // The member, or nullptr when absent or null (optional members treat both alike).
  static const json* find(const json& obj, std::string_view key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Result<const json*> require(const json& obj, std::string_view key,
                              const std::string& path) const {
    const json* v = find(obj, key);
    if (v == nullptr) return error(path, "missing");
    return v;
  }

  Error wrong_type(const json& v, std::string_view want, const std::string& path) const {
    return error(path, "want " + std::string(want) + ", got " + v.type_name());
  }

  Result<std::string> string(const json& obj, std::string_view key, const std::string& prefix,
                             bool required) const {
    std::string path = member_path(prefix, key);
    const json* v = find(obj, key);
    if (v == nullptr) {
      if (required) return error(path, "missing");
      return std::string();
    }
    if (!v->is_string()) return wrong_type(*v, "a string", path);
    return v->get<std::string>();
  }

  Result<std::optional<std::string>> optional_string(const json& obj, std::string_view key,
                                                     const std::string& prefix) const {
    const json* v = find(obj, key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) return wrong_type(*v, "a string", member_path(prefix, key));
    return std::optional<std::string>(v->get<std::string>());
  }

  Result<std::vector<std::string>> strings(const json& v, const std::string& path) const {
    if (!v.is_array()) return wrong_type(v, "an array of strings", path);
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) {
        return wrong_type(v[i], "a string", path + "[" + std::to_string(i) + "]");
      }
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }

  Result<std::optional<std::vector<std::string>>> optional_strings(
      const json& obj, std::string_view key, const std::string& prefix) const {
    const json* v = find(obj, key);
    if (v == nullptr) return std::optional<std::vector<std::string>>();
    GANTRY_ASSIGN_OR_RETURN(auto out, strings(*v, member_path(prefix, key)));
    return std::optional<std::vector<std::string>>(std::move(out));
  }

  Result<std::map<std::string, std::string>> string_map(const json& obj, std::string_view key,
                                                        const std::string& prefix) const {
    std::string path = member_path(prefix, key);
    std::map<std::string, std::string> out;
    const json* v = find(obj, key);
    if (v == nullptr) return out;
    if (!v->is_object()) return wrong_type(*v, "an object of strings", path);
    for (const auto& [k, item] : v->items()) {
      if (!item.is_string()) return wrong_type(item, "a string", path + "." + k);
      out[k] = item.get<std::string>();
    }
    return out;
  }

  Result<Digest> digest(const json& obj, std::string_view key, const std::string& prefix) const {
    std::string path = member_path(prefix, key);
    GANTRY_ASSIGN_OR_RETURN(std::string text, string(obj, key, prefix, true));
    auto d = Digest::parse(text);
    if (!d) return error(path, "bad digest: " + d.error().message());
    return *d;
  }

  Result<int64_t> size(const json& obj, std::string_view key, const std::string& prefix) const {
    std::string path = member_path(prefix, key);
    GANTRY_ASSIGN_OR_RETURN(const json* v, require(obj, key, path));
    if (v->is_number_unsigned()) {
      auto u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return error(path, "out of range (" + std::to_string(u) + ")");
      }
      return static_cast<int64_t>(u);
    }
    if (v->is_number_integer()) {
      auto n = v->get<int64_t>();
      if (n < 0) return error(path, "negative (" + std::to_string(n) + ")");
      return n;
    }
    return wrong_type(*v, "an integer", path);
  }

  Result<void> schema_version_2(const json& obj) const {
    GANTRY_ASSIGN_OR_RETURN(const json* v, require(obj, "schemaVersion", "schemaVersion"));
    if (!v->is_number_integer()) return wrong_type(*v, "an integer", "schemaVersion");
    if (*v != 2) return error("schemaVersion", "must be 2, got " + v->dump());
    return ok();
  }

 private:
  std::string_view doc_;
};

Result<json> parse_json(std::string_view text, std::string_view doc) {
  bool too_deep = false;
  bool non_finite = false;
  json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth) too_deep = true;
    if (event == json::parse_event_t::value && parsed.is_number_float() &&
        !std::isfinite(parsed.get<double>())) {
      non_finite = true;
    }
    return !too_deep;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {
    return Error(ErrorKind::invalid_argument, std::string(doc) + ": not valid JSON: " + e.what());
  }
  if (too_deep) {
    return Error(ErrorKind::invalid_argument, std::string(doc) + ": nested deeper than " +
                                                  std::to_string(kMaxDepth) + " levels");
  }
  if (non_finite) {
    return Error(ErrorKind::invalid_argument, std::string(doc) + ": a number out of range");
  }
  if (!j.is_object()) {
    return Error(ErrorKind::invalid_argument,
                 std::string(doc) + ": want a JSON object, got " + j.type_name());
  }
  return j;
}

Result<Platform> platform_from(const Reader& r, const json& v, const std::string& path) {
  if (!v.is_object()) return r.wrong_type(v, "an object", path);
  Platform p;
  GANTRY_ASSIGN_OR_RETURN(p.architecture, r.string(v, "architecture", path, true));
  GANTRY_ASSIGN_OR_RETURN(p.os, r.string(v, "os", path, true));
  GANTRY_ASSIGN_OR_RETURN(p.variant, r.string(v, "variant", path, false));
  GANTRY_ASSIGN_OR_RETURN(p.os_version, r.string(v, "os.version", path, false));
  GANTRY_ASSIGN_OR_RETURN(auto features, r.optional_strings(v, "os.features", path));
  p.os_features = features.value_or(std::vector<std::string>{});
  return p;
}

Result<Descriptor> descriptor_from(const Reader& r, const json& v, const std::string& path) {
  if (!v.is_object()) return r.wrong_type(v, "a descriptor object", path);
  Descriptor d;
  GANTRY_ASSIGN_OR_RETURN(d.media_type, r.string(v, "mediaType", path, true));
  GANTRY_ASSIGN_OR_RETURN(d.digest, r.digest(v, "digest", path));
  GANTRY_ASSIGN_OR_RETURN(d.size, r.size(v, "size", path));
  GANTRY_ASSIGN_OR_RETURN(auto urls, r.optional_strings(v, "urls", path));
  d.urls = urls.value_or(std::vector<std::string>{});
  GANTRY_ASSIGN_OR_RETURN(d.annotations, r.string_map(v, "annotations", path));
  if (const json* p = Reader::find(v, "platform")) {
    GANTRY_ASSIGN_OR_RETURN(d.platform, platform_from(r, *p, member_path(path, "platform")));
  }
  GANTRY_ASSIGN_OR_RETURN(d.artifact_type, r.optional_string(v, "artifactType", path));
  return d;
}

Result<std::vector<Descriptor>> descriptors_from(const Reader& r, const json& obj,
                                                 std::string_view key) {
  std::string path(key);
  GANTRY_ASSIGN_OR_RETURN(const json* v, r.require(obj, key, path));
  if (!v->is_array()) return r.wrong_type(*v, "an array of descriptors", path);
  std::vector<Descriptor> out;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN(Descriptor d,
                            descriptor_from(r, (*v)[i], path + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(d));
  }
  return out;
}

// A document with both "manifests" and "config"/"layers" could be read either way; refuse it
// (the ambiguity is what image-spec's mediaType requirement closes).
Result<void> check_not_ambiguous(const Reader& r, const json& j) {
  if (j.contains("manifests") && (j.contains("config") || j.contains("layers"))) {
    return r.error("has both 'manifests' (an index) and 'config'/'layers' (a manifest)");
  }
  return ok();
}

Result<ImageManifest> manifest_from(const json& j) {
  Reader r("manifest");
  GANTRY_TRY(check_not_ambiguous(r, j));
  GANTRY_TRY(r.schema_version_2(j));
  ImageManifest m;
  GANTRY_ASSIGN_OR_RETURN(m.media_type, r.string(j, "mediaType", "", false));
  if (!m.media_type.empty() && !media_types::is_manifest(m.media_type)) {
    return r.error("mediaType", "'" + m.media_type + "' is not a manifest media type");
  }
  if (!j.contains("config") && j.contains("manifests")) {
    return r.error("is an image index, not a manifest");
  }
  GANTRY_ASSIGN_OR_RETURN(m.artifact_type, r.optional_string(j, "artifactType", ""));
  GANTRY_ASSIGN_OR_RETURN(const json* config, r.require(j, "config", "config"));
  GANTRY_ASSIGN_OR_RETURN(m.config, descriptor_from(r, *config, "config"));
  GANTRY_ASSIGN_OR_RETURN(m.layers, descriptors_from(r, j, "layers"));
  GANTRY_ASSIGN_OR_RETURN(m.annotations, r.string_map(j, "annotations", ""));
  if (const json* s = Reader::find(j, "subject")) {
    GANTRY_ASSIGN_OR_RETURN(m.subject, descriptor_from(r, *s, "subject"));
  }
  return m;
}

Result<ImageIndex> index_from(const json& j) {
  Reader r("index");
  GANTRY_TRY(check_not_ambiguous(r, j));
  GANTRY_TRY(r.schema_version_2(j));
  ImageIndex i;
  GANTRY_ASSIGN_OR_RETURN(i.media_type, r.string(j, "mediaType", "", false));
  if (!i.media_type.empty() && !media_types::is_index(i.media_type)) {
    return r.error("mediaType", "'" + i.media_type + "' is not an index media type");
  }
  if (!j.contains("manifests") && j.contains("config")) {
    return r.error("is an image manifest, not an index");
  }
  GANTRY_ASSIGN_OR_RETURN(i.artifact_type, r.optional_string(j, "artifactType", ""));
  GANTRY_ASSIGN_OR_RETURN(i.manifests, descriptors_from(r, j, "manifests"));
  GANTRY_ASSIGN_OR_RETURN(i.annotations, r.string_map(j, "annotations", ""));
  if (const json* s = Reader::find(j, "subject")) {
    GANTRY_ASSIGN_OR_RETURN(i.subject, descriptor_from(r, *s, "subject"));
  }
  return i;
}

Result<ContainerConfig> container_config_from(const Reader& r, const json& v) {
  const std::string path = "config";
  if (!v.is_object()) return r.wrong_type(v, "an object", path);
  ContainerConfig c;
  GANTRY_ASSIGN_OR_RETURN(c.user, r.string(v, "User", path, false));
  GANTRY_ASSIGN_OR_RETURN(auto env, r.optional_strings(v, "Env", path));
  c.env = env.value_or(std::vector<std::string>{});
  GANTRY_ASSIGN_OR_RETURN(c.entrypoint, r.optional_strings(v, "Entrypoint", path));
  GANTRY_ASSIGN_OR_RETURN(c.cmd, r.optional_strings(v, "Cmd", path));
  GANTRY_ASSIGN_OR_RETURN(c.working_dir, r.string(v, "WorkingDir", path, false));
  GANTRY_ASSIGN_OR_RETURN(c.labels, r.string_map(v, "Labels", path));
  for (const auto& [k, item] : v.items()) {
    if (k == "User" || k == "Env" || k == "Entrypoint" || k == "Cmd" || k == "WorkingDir" ||
        k == "Labels") {
      continue;
    }
    c.other[k] = item;
  }
  return c;
}

Result<HistoryEntry> history_from(const Reader& r, const json& v, const std::string& path) {
  if (!v.is_object()) return r.wrong_type(v, "an object", path);
  HistoryEntry h;
  GANTRY_ASSIGN_OR_RETURN(h.created, r.string(v, "created", path, false));
  GANTRY_ASSIGN_OR_RETURN(h.created_by, r.string(v, "created_by", path, false));
  GANTRY_ASSIGN_OR_RETURN(h.author, r.string(v, "author", path, false));
  GANTRY_ASSIGN_OR_RETURN(h.comment, r.string(v, "comment", path, false));
  if (const json* e = Reader::find(v, "empty_layer")) {
    if (!e->is_boolean()) return r.wrong_type(*e, "a boolean", member_path(path, "empty_layer"));
    h.empty_layer = e->get<bool>();
  }
  return h;
}

Result<ImageConfig> config_from(const json& j) {
  Reader r("image config");
  ImageConfig c;
  GANTRY_ASSIGN_OR_RETURN(c.created, r.string(j, "created", "", false));
  GANTRY_ASSIGN_OR_RETURN(c.author, r.string(j, "author", "", false));
  GANTRY_ASSIGN_OR_RETURN(c.architecture, r.string(j, "architecture", "", true));
  GANTRY_ASSIGN_OR_RETURN(c.os, r.string(j, "os", "", true));
  GANTRY_ASSIGN_OR_RETURN(c.variant, r.string(j, "variant", "", false));
  GANTRY_ASSIGN_OR_RETURN(c.os_version, r.string(j, "os.version", "", false));
  if (const json* cc = Reader::find(j, "config")) {
    GANTRY_ASSIGN_OR_RETURN(c.config, container_config_from(r, *cc));
  }
  GANTRY_ASSIGN_OR_RETURN(const json* rootfs, r.require(j, "rootfs", "rootfs"));
  if (!rootfs->is_object()) return r.wrong_type(*rootfs, "an object", "rootfs");
  GANTRY_ASSIGN_OR_RETURN(c.rootfs.type, r.string(*rootfs, "type", "rootfs", true));
  if (c.rootfs.type != "layers") {
    return r.error("rootfs.type", "must be \"layers\", got \"" + c.rootfs.type + "\"");
  }
  GANTRY_ASSIGN_OR_RETURN(const json* ids, r.require(*rootfs, "diff_ids", "rootfs.diff_ids"));
  GANTRY_ASSIGN_OR_RETURN(auto id_texts, r.strings(*ids, "rootfs.diff_ids"));
  for (size_t i = 0; i < id_texts.size(); ++i) {
    auto d = Digest::parse(id_texts[i]);
    if (!d) {
      return r.error("rootfs.diff_ids[" + std::to_string(i) + "]",
                     "bad digest: " + d.error().message());
    }
    c.rootfs.diff_ids.push_back(*d);
  }
  if (const json* h = Reader::find(j, "history")) {
    if (!h->is_array()) return r.wrong_type(*h, "an array", "history");
    for (size_t i = 0; i < h->size(); ++i) {
      GANTRY_ASSIGN_OR_RETURN(HistoryEntry e,
                              history_from(r, (*h)[i], "history[" + std::to_string(i) + "]"));
      c.history.push_back(std::move(e));
    }
  }
  for (const auto& [k, item] : j.items()) {
    if (k == "created" || k == "author" || k == "architecture" || k == "os" || k == "variant" ||
        k == "os.version" || k == "config" || k == "rootfs" || k == "history") {
      continue;
    }
    c.other[k] = item;
  }
  return c;
}

// Canonical text: compact, keys sorted (nlohmann's object is an ordered map). Strings that are
// not UTF-8 (possible only in values built by hand) are replaced rather than thrown on.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void put_if(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

json annotations_json(const Annotations& a) {
  json j = json::object();
  for (const auto& [k, v] : a) j[k] = v;
  return j;
}

json platform_json(const Platform& p) {
  json j = json::object();
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  put_if(j, "variant", p.variant);
  put_if(j, "os.version", p.os_version);
  if (!p.os_features.empty()) j["os.features"] = p.os_features;
  return j;
}

json descriptors_json(const std::vector<Descriptor>& ds) {
  json j = json::array();
  for (const auto& d : ds) j.push_back(to_json_value(d));
  return j;
}

}  // namespace

Platform current_platform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__arm__)
  p.architecture = "arm";
  p.variant = "v7";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
  p.architecture = "unknown";
#endif
  return p;
}

std::string to_string(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

Result<Descriptor> descriptor_from_json(const json& j) {
  return descriptor_from(Reader("descriptor"), j, "");
}

Result<Descriptor> parse_descriptor(std::string_view text) {
  GANTRY_ASSIGN_OR_RETURN(json j, parse_json(text, "descriptor"));
  return descriptor_from_json(j);
}

Result<ImageManifest> parse_manifest(std::string_view text) {
  GANTRY_ASSIGN_OR_RETURN(json j, parse_json(text, "manifest"));
  return manifest_from(j);
}

Result<ImageIndex> parse_index(std::string_view text) {
  GANTRY_ASSIGN_OR_RETURN(json j, parse_json(text, "index"));
  return index_from(j);
}

Result<ImageConfig> parse_config(std::string_view text) {
  GANTRY_ASSIGN_OR_RETURN(json j, parse_json(text, "image config"));
  return config_from(j);
}

Result<std::variant<ImageManifest, ImageIndex>> parse_manifest_or_index(std::string_view text) {
  using Doc = std::variant<ImageManifest, ImageIndex>;
  GANTRY_ASSIGN_OR_RETURN(json j, parse_json(text, "manifest or index"));
  GANTRY_TRY(check_not_ambiguous(Reader("manifest or index"), j));
  bool is_index = false;
  const json* mt = Reader::find(j, "mediaType");
  if (mt != nullptr && mt->is_string() && !mt->get<std::string>().empty()) {
    is_index = media_types::is_index(mt->get<std::string>());
  } else {
    is_index = j.contains("manifests");
  }
  if (is_index) {
    GANTRY_ASSIGN_OR_RETURN(ImageIndex i, index_from(j));
    return Doc(std::move(i));
  }
  GANTRY_ASSIGN_OR_RETURN(ImageManifest m, manifest_from(j));
  return Doc(std::move(m));
}

json to_json_value(const Descriptor& d) {
  json j = json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = annotations_json(d.annotations);
  if (d.platform) j["platform"] = platform_json(*d.platform);
  if (d.artifact_type) j["artifactType"] = *d.artifact_type;
  return j;
}

std::string to_json(const Descriptor& d) {
  return dump(to_json_value(d));
}

std::string to_json(const ImageManifest& m) {
  json j = json::object();
  j["schemaVersion"] = m.schema_version;
  put_if(j, "mediaType", m.media_type);
  if (m.artifact_type) j["artifactType"] = *m.artifact_type;
  j["config"] = to_json_value(m.config);
  j["layers"] = descriptors_json(m.layers);
  if (!m.annotations.empty()) j["annotations"] = annotations_json(m.annotations);
  if (m.subject) j["subject"] = to_json_value(*m.subject);
  return dump(j);
}

std::string to_json(const ImageIndex& i) {
  json j = json::object();
  j["schemaVersion"] = i.schema_version;
  put_if(j, "mediaType", i.media_type);
  if (i.artifact_type) j["artifactType"] = *i.artifact_type;
  j["manifests"] = descriptors_json(i.manifests);
  if (!i.annotations.empty()) j["annotations"] = annotations_json(i.annotations);
  if (i.subject) j["subject"] = to_json_value(*i.subject);
  return dump(j);
}

std::string to_json(const ImageConfig& c) {
  json j = c.other.is_object() ? c.other : json::object();
  put_if(j, "created", c.created);
  put_if(j, "author", c.author);
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  put_if(j, "variant", c.variant);
  put_if(j, "os.version", c.os_version);
  if (c.config) {
    const ContainerConfig& cc = *c.config;
    json k = cc.other.is_object() ? cc.other : json::object();
    put_if(k, "User", cc.user);
    if (!cc.env.empty()) k["Env"] = cc.env;
    if (cc.entrypoint) k["Entrypoint"] = *cc.entrypoint;
    if (cc.cmd) k["Cmd"] = *cc.cmd;
    put_if(k, "WorkingDir", cc.working_dir);
    if (!cc.labels.empty()) k["Labels"] = cc.labels;
    j["config"] = std::move(k);
  }
  json ids = json::array();
  for (const auto& d : c.rootfs.diff_ids) ids.push_back(d.str());
  j["rootfs"] = {{"type", c.rootfs.type}, {"diff_ids", std::move(ids)}};
  if (!c.history.empty()) {
    json h = json::array();
    for (const auto& e : c.history) {
      json x = json::object();
      put_if(x, "created", e.created);
      put_if(x, "created_by", e.created_by);
      put_if(x, "author", e.author);
      put_if(x, "comment", e.comment);
      if (e.empty_layer) x["empty_layer"] = true;
      h.push_back(std::move(x));
    }
    j["history"] = std::move(h);
  }
  return dump(j);
}

}  // namespace gantry::runtime::image
