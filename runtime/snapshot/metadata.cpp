#include "runtime/snapshot/metadata.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/sys/fs.h"

namespace gantry::runtime::snapshot {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kFormatVersion = 1;

Result<Kind> kind_from(std::string_view s) {
  for (Kind k : {Kind::active, Kind::view, Kind::committed}) {
    if (to_string(k) == s) return k;
  }
  return Error(ErrorKind::invalid_argument, "unknown kind '" + std::string(s) + "'");
}

json to_json(const Record& r) {
  return json{{"id", r.id},
              {"parent", r.info.parent},
              {"kind", to_string(r.info.kind)},
              {"labels", r.info.labels},
              {"created_ns", r.info.created_ns},
              {"updated_ns", r.info.updated_ns}};
}

Result<Record> record_from(const std::string& name, const json& j) {
  Record r;
  r.id = j.at("id").get<uint64_t>();
  r.info.name = name;
  r.info.parent = j.at("parent").get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(r.info.kind, kind_from(j.at("kind").get<std::string>()));
  r.info.labels = j.at("labels").get<std::map<std::string, std::string>>();
  r.info.created_ns = j.at("created_ns").get<int64_t>();
  r.info.updated_ns = j.at("updated_ns").get<int64_t>();
  return r;
}

Result<Metadata> parse(const std::string& text, std::string_view backend) {
  Metadata md;
  json doc = json::parse(text);  // throws json::exception on bad input
  if (doc.at("version").get<int>() != kFormatVersion) {
    return Error(ErrorKind::failed_precondition, "format version " + doc.at("version").dump() +
                                                     " is not " + std::to_string(kFormatVersion));
  }
  md.backend = doc.at("backend").get<std::string>();
  if (md.backend != backend) {
    return Error(ErrorKind::failed_precondition, "written by backend '" + md.backend +
                                                     "', opened as '" + std::string(backend) + "'");
  }
  md.next_id = doc.at("next_id").get<uint64_t>();
  for (const auto& [name, j] : doc.at("snapshots").items()) {
    GANTRY_ASSIGN_OR_RETURN_CTX(Record r, record_from(name, j), "snapshot '" + name + "'");
    if (r.id >= md.next_id) {
      return Error(ErrorKind::invalid_argument,
                   "snapshot '" + name + "': id " + std::to_string(r.id) + " not below next_id");
    }
    md.records.emplace(name, std::move(r));
  }
  for (const auto& [name, r] : md.records) {
    if (r.info.parent.empty()) continue;
    const Record* p = md.find(r.info.parent);
    if (p == nullptr || p->info.kind != Kind::committed) {
      return Error(
          ErrorKind::invalid_argument,
          "snapshot '" + name + "': parent '" + r.info.parent + "' is not a committed snapshot");
    }
  }
  return md;
}

}  // namespace

Result<Metadata> Metadata::load(const fs::path& file, std::string_view backend) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (ec) return errno_error(ec.value(), "stat '" + file.string() + "'");
    Metadata md;
    md.backend = backend;
    return md;
  }
  std::ifstream in(file);
  if (!in) return errno_error(errno, "open '" + file.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto md = parse(text.str(), backend);
    if (!md) return std::move(md).error().with_context("metadata '" + file.string() + "'");
    return md;
  } catch (const json::exception& e) {
    return Error(ErrorKind::invalid_argument, "metadata '" + file.string() + "': " + e.what());
  }
}

Result<void> Metadata::save(const fs::path& file) const {
  json snapshots = json::object();
  for (const auto& [name, r] : records) snapshots[name] = to_json(r);
  json doc{{"version", kFormatVersion},
           {"backend", backend},
           {"next_id", next_id},
           {"snapshots", std::move(snapshots)}};
  std::string text = doc.dump(1) + "\n";

  return sys::write_file_atomic(file.parent_path(), file.filename().string(), text, 0600);
}

const Record* Metadata::find(std::string_view key) const {
  auto it = records.find(key);
  return it == records.end() ? nullptr : &it->second;
}

bool Metadata::has_children(std::string_view name) const {
  for (const auto& [_, r] : records) {
    if (r.info.parent == name) return true;
  }
  return false;
}

}  // namespace gantry::runtime::snapshot
