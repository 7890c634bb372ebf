// A RegistryStore in a fresh temp directory, as an api::Registry that owns both: what the
// conformance suite's factory and the model-vs-store property need (the directory goes when
// the registry does).
#pragma once

#include <memory>
#include <stdexcept>

#include "runtime/registry/store/registry_store.h"
#include "tests/support/temp_dir.h"

namespace gantry::testing::registry {

class TempStore final : public api::Registry {
 public:
  explicit TempStore(runtime::registry::StoreOptions options = {}) : dir_("gantry-registry-store") {
    auto s = runtime::registry::RegistryStore::open(dir_ / "root", options);
    if (!s) throw std::runtime_error("open store: " + s.error().to_string());
    store_ = std::move(s).value();
  }

  runtime::registry::RegistryStore& store() { return *store_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // Closes and opens the store again on the same root (what a restart does).
  void reopen(runtime::registry::StoreOptions options = {}) {
    store_.reset();
    auto s = runtime::registry::RegistryStore::open(dir_ / "root", options);
    if (!s) throw std::runtime_error("reopen store: " + s.error().to_string());
    store_ = std::move(s).value();
  }

  api::RegistryResult<api::BlobInfo> stat_blob(const std::string& r,
                                               const std::string& d) override {
    return store_->stat_blob(r, d);
  }
  api::RegistryResult<api::BlobData> get_blob(const std::string& r, const std::string& d,
                                              std::optional<api::ByteRange> range) override {
    return store_->get_blob(r, d, range);
  }
  api::RegistryResult<api::Accepted> delete_blob(const std::string& r,
                                                 const std::string& d) override {
    return store_->delete_blob(r, d);
  }
  api::RegistryResult<api::UploadStatus> start_upload(const std::string& r) override {
    return store_->start_upload(r);
  }
  api::RegistryResult<api::BlobCreated> push_blob(const std::string& r, const std::string& d,
                                                  const std::string& b) override {
    return store_->push_blob(r, d, b);
  }
  api::RegistryResult<api::UploadStatus> upload_chunk(const std::string& r, const api::SessionId& s,
                                                      uint64_t o, const std::string& b) override {
    return store_->upload_chunk(r, s, o, b);
  }
  api::RegistryResult<api::UploadStatus> upload_status(const std::string& r,
                                                       const api::SessionId& s) override {
    return store_->upload_status(r, s);
  }
  api::RegistryResult<api::BlobCreated> complete_upload(const std::string& r,
                                                        const api::SessionId& s,
                                                        const std::string& d,
                                                        const std::string& b) override {
    return store_->complete_upload(r, s, d, b);
  }
  api::RegistryResult<api::Accepted> cancel_upload(const std::string& r,
                                                   const api::SessionId& s) override {
    return store_->cancel_upload(r, s);
  }
  api::RegistryResult<api::MountResult> mount_blob(const std::string& r, const std::string& d,
                                                   const std::string& f) override {
    return store_->mount_blob(r, d, f);
  }
  api::RegistryResult<api::ManifestCreated> put_manifest(const std::string& r,
                                                         const std::string& ref,
                                                         const std::string& t,
                                                         const std::string& b) override {
    return store_->put_manifest(r, ref, t, b);
  }
  api::RegistryResult<api::ManifestData> get_manifest(const std::string& r,
                                                      const std::string& ref) override {
    return store_->get_manifest(r, ref);
  }
  api::RegistryResult<api::ManifestData> stat_manifest(const std::string& r,
                                                       const std::string& ref) override {
    return store_->stat_manifest(r, ref);
  }
  api::RegistryResult<api::Accepted> delete_manifest(const std::string& r,
                                                     const std::string& ref) override {
    return store_->delete_manifest(r, ref);
  }
  api::RegistryResult<api::Listing> list_tags(const std::string& r, const api::Page& p) override {
    return store_->list_tags(r, p);
  }
  api::RegistryResult<api::Listing> catalog(const api::Page& p) override {
    return store_->catalog(p);
  }
  api::RegistryResult<api::Referrers> referrers(const std::string& r, const std::string& d,
                                                const std::optional<std::string>& t) override {
    return store_->referrers(r, d, t);
  }

 private:
  TempDir dir_;
  std::unique_ptr<runtime::registry::RegistryStore> store_;
};

}  // namespace gantry::testing::registry
