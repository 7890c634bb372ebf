// The registry conformance suite (registry_conformance.h) through RemoteRegistry, the client of
// api::Registry over HTTP, against servers started for each check on 127.0.0.1 with an empty
// storage: the distribution registry (Debian's docker-registry 2.8), whose departures from the
// spec are listed in docs/registry-model.md and here as known departures, and gantry-registry,
// which must pass every check.
#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>

#include "runtime/registry/client/remote_registry.h"
#include "tests/conformance/registry/registry_conformance.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"

namespace reg = gantry::testing::registry;
namespace api = gantry::api;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;
using gantry::testing::RegistryProcessOptions;

namespace {

// A RemoteRegistry that owns the server it talks to (stopped with it).
class ServedRegistry final : public api::Registry {
 public:
  ServedRegistry(std::unique_ptr<RegistryProcess> server, std::unique_ptr<api::Registry> remote)
      : server_(std::move(server)), r_(std::move(remote)) {}

  api::RegistryResult<api::BlobInfo> stat_blob(const std::string& repo,
                                               const std::string& digest) override {
    return r_->stat_blob(repo, digest);
  }
  api::RegistryResult<api::BlobData> get_blob(const std::string& repo, const std::string& digest,
                                              std::optional<api::ByteRange> range) override {
    return r_->get_blob(repo, digest, range);
  }
  api::RegistryResult<api::Accepted> delete_blob(const std::string& repo,
                                                 const std::string& digest) override {
    return r_->delete_blob(repo, digest);
  }
  api::RegistryResult<api::UploadStatus> start_upload(const std::string& repo) override {
    return r_->start_upload(repo);
  }
  api::RegistryResult<api::BlobCreated> push_blob(const std::string& repo,
                                                  const std::string& digest,
                                                  const std::string& bytes) override {
    return r_->push_blob(repo, digest, bytes);
  }
  api::RegistryResult<api::UploadStatus> upload_chunk(const std::string& repo,
                                                      const api::SessionId& session,
                                                      uint64_t offset_bytes,
                                                      const std::string& bytes) override {
    return r_->upload_chunk(repo, session, offset_bytes, bytes);
  }
  api::RegistryResult<api::UploadStatus> upload_status(const std::string& repo,
                                                       const api::SessionId& session) override {
    return r_->upload_status(repo, session);
  }
  api::RegistryResult<api::BlobCreated> complete_upload(const std::string& repo,
                                                        const api::SessionId& session,
                                                        const std::string& digest,
                                                        const std::string& last_chunk) override {
    return r_->complete_upload(repo, session, digest, last_chunk);
  }
  api::RegistryResult<api::Accepted> cancel_upload(const std::string& repo,
                                                   const api::SessionId& session) override {
    return r_->cancel_upload(repo, session);
  }
  api::RegistryResult<api::MountResult> mount_blob(const std::string& repo,
                                                   const std::string& digest,
                                                   const std::string& from_repo) override {
    return r_->mount_blob(repo, digest, from_repo);
  }
  api::RegistryResult<api::ManifestCreated> put_manifest(const std::string& repo,
                                                         const std::string& reference,
                                                         const std::string& media_type,
                                                         const std::string& bytes) override {
    return r_->put_manifest(repo, reference, media_type, bytes);
  }
  api::RegistryResult<api::ManifestData> get_manifest(const std::string& repo,
                                                      const std::string& reference) override {
    return r_->get_manifest(repo, reference);
  }
  api::RegistryResult<api::ManifestData> stat_manifest(const std::string& repo,
                                                       const std::string& reference) override {
    return r_->stat_manifest(repo, reference);
  }
  api::RegistryResult<api::Accepted> delete_manifest(const std::string& repo,
                                                     const std::string& reference) override {
    return r_->delete_manifest(repo, reference);
  }
  api::RegistryResult<api::Listing> list_tags(const std::string& repo,
                                              const api::Page& page) override {
    return r_->list_tags(repo, page);
  }
  api::RegistryResult<api::Listing> catalog(const api::Page& page) override {
    return r_->catalog(page);
  }
  api::RegistryResult<api::Referrers> referrers(
      const std::string& repo, const std::string& digest,
      const std::optional<std::string>& artifact_type) override {
    return r_->referrers(repo, digest, artifact_type);
  }

 private:
  std::unique_ptr<RegistryProcess> server_;
  std::unique_ptr<api::Registry> r_;
};

struct Backend {
  std::string name;
  RegistryKind kind;
  std::vector<std::string> known_departures;  // check names this backend fails (see docs)
};

const std::vector<Backend>& backends() {
  static const std::vector<Backend> b = {
      // docs/registry-model.md, "What the distribution registry 2.8.2 does differently".
      // docs/registry-client.md, "Distribution's departures seen through the client", adds
      // the upload ones: PATCH ignores Content-Range, a failed completion keeps the session, an
      // unknown session id is BLOB_UPLOAD_INVALID, and a malformed manifest digest gets 500.
      {"distribution",
       RegistryKind::distribution,
       {"name-invalid", "manifest-delete-by-tag", "manifest-size-limit", "tags-list",
        "tags-pagination", "referrers", "upload-wrong-offset", "upload-wrong-digest",
        "upload-unknown-session", "manifest-unknown"}},
#ifdef GANTRY_HAVE_REGISTRY_SERVER
      // Built in this tree (cli/registry): must pass every check.
      {"gantry-registry", RegistryKind::gantry, {}},
#endif
  };
  return b;
}

struct Case {
  const Backend* backend;
  const reg::RegistryCheck* check;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.backend->name << "/" << c.check->name;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& b : backends())
    for (const auto& c : reg::registry_checks()) out.push_back({&b, &c});
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_http_conformance)

BOOST_DATA_TEST_CASE(check, boost::unit_test::data::make(cases()), c) {
  auto program = RegistryProcess::program(c.backend->kind);
  if (!gantry::testing::require(program.has_value(),
                                c.backend->name + " is not built or installed: " +
                                    (program ? std::string() : program.error().message())))
    return;
  std::string start_error;
  auto start = [&]() -> std::unique_ptr<api::Registry> {
    auto server = RegistryProcess::start({.kind = c.backend->kind});
    if (!server) {
      start_error = server.error().to_string();
      return nullptr;
    }
    auto remote = gantry::runtime::registry::make_remote_registry((*server)->base_url());
    if (!remote) {
      start_error = remote.error().to_string();
      return nullptr;
    }
    return std::make_unique<ServedRegistry>(std::move(*server), std::move(*remote));
  };
  // The first server is started here, so that one that cannot start is one clear failure.
  std::unique_ptr<api::Registry> first = start();
  if (!first) BOOST_FAIL("start " << c.backend->name << ": " << start_error);
  reg::RegistryFactory factory = [&]() -> std::unique_ptr<api::Registry> {
    if (first) return std::move(first);
    auto next = start();
    BOOST_REQUIRE_MESSAGE(next != nullptr, "start " << c.backend->name << ": " << start_error);
    return next;
  };
  reg::CheckReport report = reg::run_registry_check(*c.check, factory);
  const auto& known = c.backend->known_departures;
  bool departure = std::find(known.begin(), known.end(), c.check->name) != known.end();
  std::string failures;
  for (const auto& f : report.failures) failures += "\n  " + f;
  if (departure) {
    BOOST_CHECK_MESSAGE(!report.failures.empty(),
                        c.check->name + ": listed as a known departure but passes");
    BOOST_TEST_MESSAGE("known departure " << c << ":" << failures);
  } else {
    BOOST_CHECK_MESSAGE(report.failures.empty(),
                        c.check->name + " (" + c.check->rule + "):" + failures);
  }
}

BOOST_AUTO_TEST_SUITE_END()
