#include "model/api/registry.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gantry::api {

RegistryError::RegistryError(RegistryErrorCode code, std::string message)
    : RegistryError(code, default_http_status(code), std::move(message)) {}

RegistryError::RegistryError(RegistryErrorCode code, int http_status, std::string message)
    : code_(code), http_status_(http_status), message_(std::move(message)) {}

Error RegistryError::to_error() const {
  return Error(error_kind_of(code_), std::string(to_string(code_)) + ": " + message_);
}

std::ostream& operator<<(std::ostream& os, const RegistryError& e) {
  return os << e.http_status() << " " << to_string(e.code()) << ": " << e.message();
}

std::string referrers_index_json(const Referrers& r) {
  nlohmann::ordered_json index;
  index["schemaVersion"] = 2;
  index["mediaType"] = kOciIndexType;
  index["manifests"] = nlohmann::ordered_json::array();
  for (const auto& d : r.manifests) {
    nlohmann::ordered_json j;
    j["mediaType"] = d.media_type;
    j["digest"] = d.digest.str();
    j["size"] = d.size_bytes;
    if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
    if (!d.annotations.empty()) j["annotations"] = d.annotations;
    index["manifests"].push_back(std::move(j));
  }
  if (r.filter_applied)
    index["annotations"][std::string(kFiltersAppliedAnnotation)] = "artifactType";
  return index.dump();
}

// --- printing ---

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  size_t shown = 0;
  for (char c : s) {
    if (++shown > 48) {
      out += "...(" + std::to_string(s.size()) + " bytes)";
      break;
    }
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::to_string(static_cast<unsigned char>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::ostream& operator<<(std::ostream& os, const Page& p) {
  os << "n=" << (p.n ? std::to_string(*p.n) : "-") << " last=" << (p.last ? quoted(*p.last) : "-");
  return os;
}

struct OpPrinter {
  std::ostream& os;
  void operator()(const op::StatBlob& o) { os << "stat_blob " << o.repo << " " << o.digest; }
  void operator()(const op::GetBlob& o) {
    os << "get_blob " << o.repo << " " << o.digest;
    if (o.range) os << " range=" << o.range->first << "-" << o.range->last;
  }
  void operator()(const op::DeleteBlob& o) { os << "delete_blob " << o.repo << " " << o.digest; }
  void operator()(const op::StartUpload& o) { os << "start_upload " << o.repo; }
  void operator()(const op::PushBlob& o) {
    os << "push_blob " << o.repo << " " << o.digest << " " << quoted(o.bytes);
  }
  void operator()(const op::UploadChunk& o) {
    os << "upload_chunk " << o.repo << " session#" << o.session << " offset=" << o.offset_bytes
       << " " << quoted(o.bytes);
  }
  void operator()(const op::GetUploadStatus& o) {
    os << "upload_status " << o.repo << " session#" << o.session;
  }
  void operator()(const op::CompleteUpload& o) {
    os << "complete_upload " << o.repo << " session#" << o.session << " " << o.digest << " "
       << quoted(o.last_chunk);
  }
  void operator()(const op::CancelUpload& o) {
    os << "cancel_upload " << o.repo << " session#" << o.session;
  }
  void operator()(const op::MountBlob& o) {
    os << "mount_blob " << o.repo << " " << o.digest << " from=" << o.from_repo;
  }
  void operator()(const op::PutManifest& o) {
    os << "put_manifest " << o.repo << " " << o.reference << " " << o.media_type << " "
       << quoted(o.bytes);
  }
  void operator()(const op::GetManifest& o) {
    os << "get_manifest " << o.repo << " " << o.reference;
  }
  void operator()(const op::StatManifest& o) {
    os << "stat_manifest " << o.repo << " " << o.reference;
  }
  void operator()(const op::DeleteManifest& o) {
    os << "delete_manifest " << o.repo << " " << o.reference;
  }
  void operator()(const op::ListTags& o) { os << "list_tags " << o.repo << " " << o.page; }
  void operator()(const op::Catalog& o) { os << "catalog " << o.page; }
  void operator()(const op::GetReferrers& o) {
    os << "referrers " << o.repo << " " << o.digest;
    if (o.artifact_type) os << " artifactType=" << *o.artifact_type;
  }
};

}  // namespace

std::ostream& op::operator<<(std::ostream& os, const RegistryOp& o) {
  std::visit(OpPrinter{os}, o);
  return os;
}

std::ostream& operator<<(std::ostream& os, const RegistryOutcome& o) {
  os << o.http_status;
  if (o.error) os << " " << to_string(*o.error);
  if (o.digest) os << " digest=" << *o.digest;
  if (o.size_bytes) os << " size=" << *o.size_bytes;
  if (o.media_type) os << " type=" << *o.media_type;
  if (o.bytes) os << " bytes=" << quoted(*o.bytes);
  if (!o.entries.empty() || o.next_last) {
    os << " [";
    for (size_t i = 0; i < o.entries.size(); ++i) os << (i ? ", " : "") << o.entries[i];
    os << "]";
  }
  if (o.next_last) os << " next_last=" << *o.next_last;
  if (o.filter_applied) os << " filtered";
  return os;
}

// --- the dispatcher ---

SessionId SessionBook::id(size_t k) const {
  if (k < started.size()) return started[k].second;
  return "gantry-never-issued-" + std::to_string(k);
}

namespace {

RegistryOutcome failed(const RegistryError& e) {
  RegistryOutcome o;
  o.http_status = e.http_status();
  o.error = e.code();
  return o;
}

RegistryOutcome status_only(int status) {
  RegistryOutcome o;
  o.http_status = status;
  return o;
}

RegistryOutcome of(const BlobInfo& b) {
  RegistryOutcome o = status_only(200);
  o.digest = b.digest.str();
  o.size_bytes = b.size_bytes;
  return o;
}

RegistryOutcome of(const BlobData& b) {
  RegistryOutcome o = status_only(b.range ? 206 : 200);
  o.digest = b.digest.str();
  o.size_bytes = b.size_bytes;
  o.bytes = b.bytes;
  return o;
}

RegistryOutcome of(const UploadStatus& s, int status) {
  RegistryOutcome o = status_only(status);
  o.size_bytes = s.offset_bytes;
  return o;
}

RegistryOutcome of(const BlobCreated& b) {
  RegistryOutcome o = status_only(201);
  o.digest = b.digest.str();
  o.size_bytes = b.size_bytes;
  return o;
}

RegistryOutcome of(const ManifestData& m, bool with_bytes) {
  RegistryOutcome o = status_only(200);
  o.digest = m.digest.str();
  o.size_bytes = m.size_bytes;
  o.media_type = m.media_type;
  if (with_bytes) o.bytes = m.bytes;
  return o;
}

RegistryOutcome of(const Listing& l) {
  RegistryOutcome o = status_only(200);
  o.entries = l.entries;
  o.next_last = l.next_last;
  return o;
}

RegistryOutcome of(const Referrers& r) {
  RegistryOutcome o = status_only(200);
  for (const auto& d : r.manifests) {
    std::string annotations;
    for (const auto& [k, v] : d.annotations)
      annotations += (annotations.empty() ? "" : ",") + k + "=" + v;
    o.entries.push_back(d.digest.str() + " " + d.artifact_type + " " + d.media_type + " " +
                        std::to_string(d.size_bytes) + " {" + annotations + "}");
  }
  std::sort(o.entries.begin(), o.entries.end());
  o.filter_applied = r.filter_applied;
  return o;
}

struct Dispatch {
  Registry& r;
  SessionBook& book;

  template <class T, class F>
  RegistryOutcome answer(const RegistryResult<T>& res, F&& render) {
    if (!res) return failed(res.error());
    return render(*res);
  }

  RegistryOutcome operator()(const op::StatBlob& o) {
    return answer(r.stat_blob(o.repo, o.digest), [](const BlobInfo& b) { return of(b); });
  }
  RegistryOutcome operator()(const op::GetBlob& o) {
    return answer(r.get_blob(o.repo, o.digest, o.range), [](const BlobData& b) { return of(b); });
  }
  RegistryOutcome operator()(const op::DeleteBlob& o) {
    return answer(r.delete_blob(o.repo, o.digest),
                  [](const Accepted&) { return status_only(202); });
  }
  RegistryOutcome operator()(const op::StartUpload& o) {
    return answer(r.start_upload(o.repo), [&](const UploadStatus& s) {
      book.started.emplace_back(o.repo, s.session);
      return of(s, 202);
    });
  }
  RegistryOutcome operator()(const op::PushBlob& o) {
    return answer(r.push_blob(o.repo, o.digest, o.bytes),
                  [](const BlobCreated& b) { return of(b); });
  }
  RegistryOutcome operator()(const op::UploadChunk& o) {
    return answer(r.upload_chunk(o.repo, book.id(o.session), o.offset_bytes, o.bytes),
                  [](const UploadStatus& s) { return of(s, 202); });
  }
  RegistryOutcome operator()(const op::GetUploadStatus& o) {
    return answer(r.upload_status(o.repo, book.id(o.session)),
                  [](const UploadStatus& s) { return of(s, 204); });
  }
  RegistryOutcome operator()(const op::CompleteUpload& o) {
    return answer(r.complete_upload(o.repo, book.id(o.session), o.digest, o.last_chunk),
                  [](const BlobCreated& b) { return of(b); });
  }
  RegistryOutcome operator()(const op::CancelUpload& o) {
    return answer(r.cancel_upload(o.repo, book.id(o.session)),
                  [](const Accepted&) { return status_only(204); });
  }
  RegistryOutcome operator()(const op::MountBlob& o) {
    return answer(r.mount_blob(o.repo, o.digest, o.from_repo), [&](const MountResult& m) {
      if (m.mounted) {
        RegistryOutcome out = status_only(201);
        out.digest = m.digest.str();
        return out;
      }
      SessionId id = m.upload ? m.upload->session : SessionId();
      book.started.emplace_back(o.repo, id);
      return of(m.upload.value_or(UploadStatus{}), 202);
    });
  }
  RegistryOutcome operator()(const op::PutManifest& o) {
    return answer(r.put_manifest(o.repo, o.reference, o.media_type, o.bytes),
                  [](const ManifestCreated& m) {
                    RegistryOutcome out = status_only(201);
                    out.digest = m.digest.str();
                    return out;
                  });
  }
  RegistryOutcome operator()(const op::GetManifest& o) {
    return answer(r.get_manifest(o.repo, o.reference),
                  [](const ManifestData& m) { return of(m, true); });
  }
  RegistryOutcome operator()(const op::StatManifest& o) {
    return answer(r.stat_manifest(o.repo, o.reference),
                  [](const ManifestData& m) { return of(m, false); });
  }
  RegistryOutcome operator()(const op::DeleteManifest& o) {
    return answer(r.delete_manifest(o.repo, o.reference),
                  [](const Accepted&) { return status_only(202); });
  }
  RegistryOutcome operator()(const op::ListTags& o) {
    return answer(r.list_tags(o.repo, o.page), [](const Listing& l) { return of(l); });
  }
  RegistryOutcome operator()(const op::Catalog& o) {
    return answer(r.catalog(o.page), [](const Listing& l) { return of(l); });
  }
  RegistryOutcome operator()(const op::GetReferrers& o) {
    return answer(r.referrers(o.repo, o.digest, o.artifact_type),
                  [](const Referrers& x) { return of(x); });
  }
};

}  // namespace

RegistryOutcome apply(Registry& registry, SessionBook& sessions, const RegistryOp& op) {
  return std::visit(Dispatch{registry, sessions}, op);
}

}  // namespace gantry::api
