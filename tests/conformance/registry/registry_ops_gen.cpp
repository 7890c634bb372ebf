#include "tests/conformance/registry/registry_ops_gen.h"

#include "tests/conformance/registry/registry_fixtures.h"

namespace gantry::testing::registry {

namespace op = api::op;

const std::vector<std::string>& pool_repos() {
  static const std::vector<std::string> repos = {"a", "b/c", "a-b", "Bad"};
  return repos;
}

const std::vector<std::string>& pool_contents() {
  static const std::vector<std::string> contents = {
      "", "x", "hello", "0123456789", "{}", "{\"seed\":1}", blob_bytes(3, 700)};
  return contents;
}

const std::vector<std::string>& pool_tags() {
  static const std::vector<std::string> tags = {"latest", "v1", "v2", "Z", "_x", "a.b", ".bad"};
  return tags;
}

const std::vector<std::pair<std::string, std::string>>& pool_manifests() {
  static const auto manifests = [] {
    std::vector<std::pair<std::string, std::string>> out;
    std::string oci(api::kOciManifestType);
    ImageSpec a;  // config "{}" and no layers
    ImageSpec b;
    b.config = "{\"seed\":1}";
    b.layers = {"hello", "0123456789"};
    ImageSpec docker = b;
    docker.media_type = std::string(api::kDockerManifestType);
    docker.config_media_type = std::string(kDockerConfigType);
    ImageSpec sbom;
    sbom.config = "x";
    sbom.config_media_type = "application/vnd.example.sbom";
    sbom.subject = image_manifest(b);
    ImageSpec sig;
    sig.artifact_type = "application/vnd.example.sig";
    sig.subject = image_manifest(b);
    sig.annotations = {{"k", "v"}};
    out.emplace_back(oci, image_manifest(a));
    out.emplace_back(oci, image_manifest(b));
    out.emplace_back(docker.media_type, image_manifest(docker));
    out.emplace_back(oci, image_manifest(sbom));
    out.emplace_back(oci, image_manifest(sig));
    out.emplace_back(std::string(api::kOciIndexType),
                     index_manifest({{oci, image_manifest(a)}, {oci, image_manifest(b)}}));
    out.emplace_back(std::string(api::kDockerManifestListType),
                     index_manifest({{docker.media_type, image_manifest(docker)}},
                                    api::kDockerManifestListType));
    out.emplace_back(std::string(api::kOciIndexType), image_manifest(a));  // type mismatch
    out.emplace_back(oci, "{\"schemaVersion\":2");                         // not JSON
    return out;
  }();
  return manifests;
}

rc::Gen<std::string> gen_tag() {
  static const std::string first = "abcXYZ019_";
  static const std::string rest = "abcXYZ019_.-";
  return rc::gen::apply(
      [](char c, std::vector<char> tail) {
        return std::string(1, c) + std::string(tail.begin(), tail.end());
      },
      rc::gen::elementOf(first),
      rc::gen::resize(7, rc::gen::container<std::vector<char>>(rc::gen::elementOf(rest))));
}

rc::Gen<api::Page> gen_page() {
  return rc::gen::exec([] {
    api::Page p;
    if (*rc::gen::inRange(0, 3) != 0) p.n = *rc::gen::inRange<uint32_t>(0, 5);
    if (*rc::gen::inRange(0, 3) == 0) p.last = *rc::gen::elementOf(pool_tags());
    return p;
  });
}

namespace {

// Mostly one repository, so that sessions, blobs and manifests meet; rarely an invalid name.
std::string any_repo() {
  int w = *rc::gen::inRange(0, 100);
  const auto& r = pool_repos();
  return w < 60 ? r[0] : w < 82 ? r[1] : w < 94 ? r[2] : r[3];
}

// A digest: usually of a pool content or manifest, sometimes unknown or malformed.
std::string any_digest() {
  switch (*rc::gen::inRange(0, 10)) {
    case 0:
      return "sha256:0123";
    case 1:
      return digest_of("never pushed");
    case 2:
    case 3:
      return digest_of((*rc::gen::elementOf(pool_manifests())).second);
    default:
      return digest_of(*rc::gen::elementOf(pool_contents()));
  }
}

std::string any_reference() {
  if (*rc::gen::inRange(0, 3) == 0) return any_digest();
  return *rc::gen::elementOf(pool_tags());
}

size_t any_session() {
  return *rc::gen::weightedElement<size_t>({{6, 0}, {4, 1}, {2, 2}, {1, 4}});
}

std::string any_chunk() {
  static const std::string digits = "0123456789";
  size_t from = *rc::gen::inRange<size_t>(0, 10);
  size_t n = *rc::gen::inRange<size_t>(0, 11 - from);
  return digits.substr(from, n);
}

}  // namespace

rc::Gen<api::RegistryOp> gen_registry_op() {
  return rc::gen::exec([]() -> api::RegistryOp {
    switch (*rc::gen::inRange(0, 19)) {
      case 0:
        return op::StatBlob{any_repo(), any_digest()};
      case 1: {
        std::optional<api::ByteRange> range;
        if (*rc::gen::arbitrary<bool>()) {
          uint64_t first = *rc::gen::inRange<uint64_t>(0, 12);
          range = api::ByteRange{first, first + *rc::gen::inRange<uint64_t>(0, 12)};
        }
        return op::GetBlob{any_repo(), any_digest(), range};
      }
      case 2:
        return op::DeleteBlob{any_repo(), any_digest()};
      case 3:
        return op::StartUpload{any_repo()};
      case 4:
      case 5: {
        std::string content = *rc::gen::elementOf(pool_contents());
        std::string d = *rc::gen::inRange(0, 5) == 0 ? any_digest() : digest_of(content);
        return op::PushBlob{any_repo(), d, content};
      }
      case 6: {
        uint64_t offset = *rc::gen::elementOf(std::vector<uint64_t>{0, 0, 0, 1, 3, 5, 10});
        return op::UploadChunk{any_repo(), any_session(), offset, any_chunk()};
      }
      case 7:
        return op::GetUploadStatus{any_repo(), any_session()};
      case 8: {
        // A third are right when nothing was uploaded before (the digest of the last chunk).
        std::string last = any_chunk();
        int pick = *rc::gen::inRange(0, 3);
        std::string d = pick == 0   ? digest_of(last)
                        : pick == 1 ? any_digest()
                                    : digest_of(any_chunk());
        return op::CompleteUpload{any_repo(), any_session(), d, last};
      }
      case 9:
        return op::CancelUpload{any_repo(), any_session()};
      case 10:
        return op::MountBlob{any_repo(), any_digest(), any_repo()};
      case 11:
      case 12: {
        auto [type, body] = *rc::gen::elementOf(pool_manifests());
        std::string ref =
            *rc::gen::inRange(0, 4) == 0 ? digest_of(body) : *rc::gen::elementOf(pool_tags());
        return op::PutManifest{any_repo(), ref, type, body};
      }
      case 13:
        return op::GetManifest{any_repo(), any_reference()};
      case 14:
        return op::StatManifest{any_repo(), any_reference()};
      case 15:
        return op::DeleteManifest{any_repo(), any_reference()};
      case 16:
        return op::ListTags{any_repo(), *gen_page()};
      case 17:
        return op::Catalog{*gen_page()};
      default: {
        std::optional<std::string> type;
        if (*rc::gen::arbitrary<bool>())
          type = *rc::gen::element<std::string>("application/vnd.example.sig",
                                                "application/vnd.example.sbom", "none");
        return op::GetReferrers{any_repo(), any_digest(), type};
      }
    }
  });
}

rc::Gen<std::vector<api::RegistryOp>> gen_registry_ops() {
  return rc::gen::exec([] {
    std::vector<api::RegistryOp> ops;
    // Half the runs start with every pool content pushed to the first repository and the
    // pool's manifests pushed under tags, so later operations find them.
    if (*rc::gen::arbitrary<bool>()) {
      const std::string& repo = pool_repos()[0];
      for (const auto& c : pool_contents()) ops.push_back(op::PushBlob{repo, digest_of(c), c});
      size_t i = 0;
      for (const auto& [type, body] : pool_manifests())
        ops.push_back(op::PutManifest{repo, "m" + std::to_string(i++), type, body});
    }
    auto more = *rc::gen::container<std::vector<api::RegistryOp>>(gen_registry_op());
    ops.insert(ops.end(), more.begin(), more.end());
    return ops;
  });
}

}  // namespace gantry::testing::registry
