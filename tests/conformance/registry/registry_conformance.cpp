#include "tests/conformance/registry/registry_conformance.h"

#include <sstream>

#include "tests/conformance/registry/registry_fixtures.h"

namespace gantry::testing::registry {

using api::RegistryErrorCode;
using api::RegistryOutcome;
namespace op = api::op;
using Code = api::RegistryErrorCode;

namespace {

std::string show(const RegistryOutcome& o) {
  std::ostringstream os;
  os << o;
  return os.str();
}

}  // namespace

void Checker::expect(bool ok, const std::string& what) {
  if (!ok) failures_.push_back(what);
}

void Checker::expect_ok(const RegistryOutcome& got, int status, const std::string& what) {
  if (got.error || got.http_status != status)
    failures_.push_back(what + ": want " + std::to_string(status) + ", got " + show(got));
}

void Checker::expect_error(const RegistryOutcome& got, RegistryErrorCode code,
                           const std::string& what, int status) {
  if (status == 0) status = api::default_http_status(code);
  if (got.error != code || got.http_status != status)
    failures_.push_back(what + ": want " + std::to_string(status) + " " +
                        std::string(api::to_string(code)) + ", got " + show(got));
}

namespace {

const std::string kRepo = "conformance/app";
const std::string kOther = "conformance/other";
const std::string kUnknownDigest = digest_of("no such content");

ImageSpec small_image(int seed) {
  ImageSpec s;
  s.config = "{\"seed\":" + std::to_string(seed) + "}";
  s.layers = {blob_bytes(seed, 100 + static_cast<size_t>(seed)), blob_bytes(seed + 1, 33)};
  return s;
}

// Pushes an image and checks that it went in; returns the manifest's digest.
std::string push_ok(CheckContext& c, const std::string& repo, const ImageSpec& spec,
                    const std::string& reference) {
  auto got = push_image(c.registry, repo, spec, reference);
  if (!got) {
    std::ostringstream os;
    os << got.error();
    c.check.expect(false, "push image " + repo + ":" + reference + ": " + os.str());
    return "";
  }
  return got->digest.str();
}

std::string push_blob_ok(CheckContext& c, const std::string& repo, const std::string& bytes) {
  c.check.expect_ok(c.run(op::PushBlob{repo, digest_of(bytes), bytes}), 201,
                    "push blob of " + std::to_string(bytes.size()) + " bytes");
  return digest_of(bytes);
}

// --- blobs ---

void blob_push_then_get(CheckContext& c) {
  std::string data = blob_bytes(1, 5000);
  auto pushed = c.run(op::PushBlob{kRepo, digest_of(data), data});
  c.check.expect_ok(pushed, 201, "push");
  c.check.expect(pushed.digest == digest_of(data), "push answers the blob's digest");
  auto stat = c.run(op::StatBlob{kRepo, digest_of(data)});
  c.check.expect_ok(stat, 200, "HEAD");
  c.check.expect(stat.size_bytes == data.size(), "HEAD gives the size");
  auto got = c.run(op::GetBlob{kRepo, digest_of(data), std::nullopt});
  c.check.expect_ok(got, 200, "GET");
  c.check.expect(got.bytes == data, "GET gives the bytes");
  c.check.expect(got.digest == digest_of(data), "GET gives the digest");
  c.check.expect_ok(c.run(op::PushBlob{kRepo, digest_of(data), data}), 201, "push again");
}

void blob_unknown(CheckContext& c) {
  c.check.expect_error(c.run(op::StatBlob{kRepo, kUnknownDigest}), Code::blob_unknown,
                       "HEAD in unknown repository");
  push_blob_ok(c, kRepo, "x");
  c.check.expect_error(c.run(op::StatBlob{kRepo, kUnknownDigest}), Code::blob_unknown, "HEAD");
  c.check.expect_error(c.run(op::GetBlob{kRepo, kUnknownDigest, std::nullopt}), Code::blob_unknown,
                       "GET");
  c.check.expect_error(c.run(op::StatBlob{kOther, digest_of("x")}), Code::blob_unknown,
                       "a blob of another repository");
}

void blob_digest_invalid(CheckContext& c) {
  c.check.expect_error(c.run(op::PushBlob{kRepo, digest_of("other"), "data"}), Code::digest_invalid,
                       "push with a mismatching digest");
  c.check.expect_error(c.run(op::StatBlob{kRepo, digest_of("data")}), Code::blob_unknown,
                       "a refused blob is not visible");
  c.check.expect_error(c.run(op::PushBlob{kRepo, "sha256:1234", "data"}), Code::digest_invalid,
                       "push with a malformed digest");
  push_blob_ok(c, kRepo, "data");
  c.check.expect_error(c.run(op::GetBlob{kRepo, "sha256:zz", std::nullopt}), Code::digest_invalid,
                       "GET with a malformed digest");
}

void blob_range(CheckContext& c) {
  std::string data = "0123456789";
  push_blob_ok(c, kRepo, data);
  auto part = c.run(op::GetBlob{kRepo, digest_of(data), api::ByteRange{2, 5}});
  c.check.expect_ok(part, 206, "range 2-5");
  c.check.expect(part.bytes == "2345", "range 2-5 gives bytes 2..5");
  auto tail = c.run(op::GetBlob{kRepo, digest_of(data), api::ByteRange{7, 100}});
  c.check.expect_ok(tail, 206, "range past the end");
  c.check.expect(tail.bytes == "789", "a range past the end is cut at the end");
  c.check.expect_error(c.run(op::GetBlob{kRepo, digest_of(data), api::ByteRange{10, 12}}),
                       Code::range_invalid, "range starting at the size");
}

void blob_delete(CheckContext& c) {
  std::string d = push_blob_ok(c, kRepo, "to delete");
  c.check.expect_ok(c.run(op::DeleteBlob{kRepo, d}), 202, "delete");
  c.check.expect_error(c.run(op::StatBlob{kRepo, d}), Code::blob_unknown, "HEAD after delete");
  c.check.expect_error(c.run(op::DeleteBlob{kRepo, d}), Code::blob_unknown, "delete again");
}

// --- uploads ---

void upload_chunked(CheckContext& c) {
  std::string data = blob_bytes(3, 3000);
  auto started = c.run(op::StartUpload{kRepo});
  c.check.expect_ok(started, 202, "start");
  c.check.expect(started.size_bytes == 0u, "a new session is at offset 0");
  auto first = c.run(op::UploadChunk{kRepo, 0, 0, data.substr(0, 1000)});
  c.check.expect_ok(first, 202, "chunk 0-999");
  c.check.expect(first.size_bytes == 1000u, "offset after the first chunk");
  c.check.expect_ok(c.run(op::UploadChunk{kRepo, 0, 1000, data.substr(1000, 1500)}), 202,
                    "chunk 1000-2499");
  auto status = c.run(op::GetUploadStatus{kRepo, 0});
  c.check.expect_ok(status, 204, "status");
  c.check.expect(status.size_bytes == 2500u, "status gives the offset");
  c.check.expect_error(c.run(op::StatBlob{kRepo, digest_of(data)}), Code::blob_unknown,
                       "not visible before completion");
  auto done = c.run(op::CompleteUpload{kRepo, 0, digest_of(data), data.substr(2500)});
  c.check.expect_ok(done, 201, "complete with the last chunk");
  c.check.expect(done.digest == digest_of(data), "complete answers the digest");
  auto got = c.run(op::GetBlob{kRepo, digest_of(data), std::nullopt});
  c.check.expect(got.bytes == data, "the chunks make the blob");
  c.check.expect_error(c.run(op::GetUploadStatus{kRepo, 0}), Code::blob_upload_unknown,
                       "the session ends with completion");
}

void upload_monolithic_put(CheckContext& c) {
  std::string data = blob_bytes(4, 777);
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start");
  c.check.expect_ok(c.run(op::CompleteUpload{kRepo, 0, digest_of(data), data}), 201,
                    "PUT with the whole blob");
  c.check.expect_ok(c.run(op::StatBlob{kRepo, digest_of(data)}), 200, "HEAD");
}

void upload_wrong_offset(CheckContext& c) {
  std::string data = "abcdefgh";
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start");
  c.check.expect_ok(c.run(op::UploadChunk{kRepo, 0, 0, "abcd"}), 202, "chunk 0-3");
  c.check.expect_error(c.run(op::UploadChunk{kRepo, 0, 6, "gh"}), Code::range_invalid,
                       "a chunk past the offset");
  c.check.expect_error(c.run(op::UploadChunk{kRepo, 0, 2, "cdef"}), Code::range_invalid,
                       "a chunk before the offset");
  auto status = c.run(op::GetUploadStatus{kRepo, 0});
  c.check.expect_ok(status, 204, "the session survives a 416");
  c.check.expect(status.size_bytes == 4u, "a refused chunk adds nothing");
  c.check.expect_ok(c.run(op::UploadChunk{kRepo, 0, 4, "efgh"}), 202, "resume at the offset");
  c.check.expect_ok(c.run(op::CompleteUpload{kRepo, 0, digest_of(data), ""}), 201, "complete");
}

void upload_wrong_digest(CheckContext& c) {
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start");
  c.check.expect_ok(c.run(op::UploadChunk{kRepo, 0, 0, "content"}), 202, "chunk");
  c.check.expect_error(c.run(op::CompleteUpload{kRepo, 0, digest_of("other"), ""}),
                       Code::digest_invalid, "complete with a mismatching digest");
  c.check.expect_error(c.run(op::StatBlob{kRepo, digest_of("content")}), Code::blob_unknown,
                       "the refused content is not visible");
  c.check.expect_error(c.run(op::StatBlob{kRepo, digest_of("other")}), Code::blob_unknown,
                       "nor under the claimed digest");
  c.check.expect_error(c.run(op::GetUploadStatus{kRepo, 0}), Code::blob_upload_unknown,
                       "a failed completion ends the session");
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start");
  c.check.expect_error(c.run(op::CompleteUpload{kRepo, 1, "sha256:nothex", "x"}),
                       Code::digest_invalid, "complete with a malformed digest");
}

void upload_cancel(CheckContext& c) {
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start");
  c.check.expect_ok(c.run(op::UploadChunk{kRepo, 0, 0, "partial"}), 202, "chunk");
  c.check.expect_ok(c.run(op::CancelUpload{kRepo, 0}), 204, "cancel");
  c.check.expect_error(c.run(op::GetUploadStatus{kRepo, 0}), Code::blob_upload_unknown,
                       "status after cancel");
  c.check.expect_error(c.run(op::UploadChunk{kRepo, 0, 7, "more"}), Code::blob_upload_unknown,
                       "chunk after cancel");
  c.check.expect_error(c.run(op::CompleteUpload{kRepo, 0, digest_of("partial"), ""}),
                       Code::blob_upload_unknown, "complete after cancel");
}

void upload_unknown_session(CheckContext& c) {
  c.check.expect_error(c.run(op::GetUploadStatus{kRepo, 5}), Code::blob_upload_unknown,
                       "status of a session never started");
  c.check.expect_error(c.run(op::UploadChunk{kRepo, 5, 0, "x"}), Code::blob_upload_unknown,
                       "chunk to a session never started");
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start in one repository");
  c.check.expect_error(c.run(op::GetUploadStatus{kOther, 0}), Code::blob_upload_unknown,
                       "a session is known only in its repository");
}

void chunked_equals_monolithic(CheckContext& c) {
  std::string data = blob_bytes(9, 4096);
  c.check.expect_ok(c.run(op::StartUpload{kRepo}), 202, "start");
  for (size_t off = 0; off < data.size(); off += 1024)
    c.check.expect_ok(c.run(op::UploadChunk{kRepo, 0, off, data.substr(off, 1024)}), 202,
                      "chunk at " + std::to_string(off));
  auto chunked = c.run(op::CompleteUpload{kRepo, 0, digest_of(data), ""});
  auto mono = c.run(op::PushBlob{kOther, digest_of(data), data});
  c.check.expect(chunked == mono, "chunked " + show(chunked) + " vs monolithic " + show(mono));
  c.check.expect(c.run(op::GetBlob{kRepo, digest_of(data), std::nullopt}) ==
                     c.run(op::GetBlob{kOther, digest_of(data), std::nullopt}),
                 "the same blob either way");
}

// --- mount ---

void mount_known(CheckContext& c) {
  std::string d = push_blob_ok(c, kOther, "shared layer");
  auto m = c.run(op::MountBlob{kRepo, d, kOther});
  c.check.expect_ok(m, 201, "mount");
  c.check.expect(m.digest == d, "mount answers the digest");
  auto got = c.run(op::GetBlob{kRepo, d, std::nullopt});
  c.check.expect(got.bytes == "shared layer", "the mounted blob reads back");
}

void mount_unknown_falls_back(CheckContext& c) {
  push_blob_ok(c, kOther, "something");
  auto m = c.run(op::MountBlob{kRepo, kUnknownDigest, kOther});
  c.check.expect_ok(m, 202, "mount of a blob the source lacks starts an upload");
  c.check.expect(m.size_bytes == 0u, "the new session is at offset 0");
  std::string data = "uploaded instead";
  c.check.expect_ok(c.run(op::CompleteUpload{kRepo, 0, digest_of(data), data}), 201,
                    "the fallback session takes the upload");
  c.check.expect_ok(c.run(op::MountBlob{kRepo, digest_of("x"), "no/such/repo"}), 202,
                    "mount from an unknown repository");
}

// --- names ---

void name_invalid(CheckContext& c) {
  std::vector<std::string> bad_names = {"UPPER", "a//b", "-a",    "a-",
                                        "a/",    "a..b", "a___b", std::string(256, 'a')};
  for (const std::string& bad : bad_names) {
    c.check.expect_error(c.run(op::StartUpload{bad}), Code::name_invalid, "start in '" + bad + "'");
    c.check.expect_error(c.run(op::PushBlob{bad, digest_of("x"), "x"}), Code::name_invalid,
                         "push to '" + bad + "'");
    c.check.expect_error(c.run(op::ListTags{bad, {}}), Code::name_invalid, "tags of '" + bad + "'");
  }
  for (std::string good : {"a", "a/b/c", "a.b", "a_b", "a__b", "a---b", "0/9"})
    c.check.expect_ok(c.run(op::PushBlob{good, digest_of("x"), "x"}), 201,
                      "push to '" + good + "'");
}

// --- manifests ---

void manifest_push_pull(CheckContext& c) {
  ImageSpec spec = small_image(1);
  std::string body = image_manifest(spec);
  std::string d = push_ok(c, kRepo, spec, "v1");
  c.check.expect(d == digest_of(body), "the digest is the sha256 of the exact bytes");
  for (const std::string& ref : {std::string("v1"), d}) {
    auto got = c.run(op::GetManifest{kRepo, ref});
    c.check.expect_ok(got, 200, "GET " + ref);
    c.check.expect(got.bytes == body, "GET " + ref + " gives the bytes pushed");
    c.check.expect(got.media_type == std::string(api::kOciManifestType), "GET gives the type");
    c.check.expect(got.digest == d, "GET gives the digest");
    auto head = c.run(op::StatManifest{kRepo, ref});
    c.check.expect_ok(head, 200, "HEAD " + ref);
    c.check.expect(head.size_bytes == body.size(), "HEAD gives the size");
  }
  c.check.expect_ok(c.run(op::PutManifest{kRepo, d, std::string(api::kOciManifestType), body}), 201,
                    "push by digest");
}

void manifest_types(CheckContext& c) {
  ImageSpec docker = small_image(2);
  docker.media_type = std::string(api::kDockerManifestType);
  docker.config_media_type = std::string(kDockerConfigType);
  docker.layer_media_type = std::string(kDockerLayerType);
  push_ok(c, kRepo, docker, "docker");
  ImageSpec oci = small_image(3);
  push_ok(c, kRepo, oci, "oci");
  std::string list =
      index_manifest({{std::string(api::kDockerManifestType), image_manifest(docker)}},
                     api::kDockerManifestListType);
  c.check.expect_ok(
      c.run(op::PutManifest{kRepo, "list", std::string(api::kDockerManifestListType), list}), 201,
      "Docker manifest list");
  std::string index =
      index_manifest({{std::string(api::kOciManifestType), image_manifest(oci)},
                      {std::string(api::kDockerManifestType), image_manifest(docker)}});
  c.check.expect_ok(c.run(op::PutManifest{kRepo, "index", std::string(api::kOciIndexType), index}),
                    201, "OCI index");
  for (auto [tag, type] : {std::pair{"docker", api::kDockerManifestType},
                           {"oci", api::kOciManifestType},
                           {"list", api::kDockerManifestListType},
                           {"index", api::kOciIndexType}})
    c.check.expect(c.run(op::GetManifest{kRepo, tag}).media_type == std::string(type),
                   std::string(tag) + " comes back with its media type");
}

void manifest_digest_mismatch(CheckContext& c) {
  ImageSpec spec = small_image(4);
  push_ok(c, kRepo, spec, "v1");
  c.check.expect_error(
      c.run(op::PutManifest{kRepo, kUnknownDigest, std::string(api::kOciManifestType),
                            image_manifest(spec)}),
      Code::digest_invalid, "push under another digest");
}

void manifest_blob_unknown(CheckContext& c) {
  ImageSpec spec = small_image(5);
  std::string body = image_manifest(spec);
  std::string type(api::kOciManifestType);
  c.check.expect_error(c.run(op::PutManifest{kRepo, "v1", type, body}), Code::manifest_blob_unknown,
                       "no blob pushed");
  push_blob_ok(c, kRepo, spec.config);
  push_blob_ok(c, kRepo, spec.layers[0]);
  c.check.expect_error(c.run(op::PutManifest{kRepo, "v1", type, body}), Code::manifest_blob_unknown,
                       "one layer missing");
  push_blob_ok(c, kOther, spec.layers[1]);
  c.check.expect_error(c.run(op::PutManifest{kRepo, "v1", type, body}), Code::manifest_blob_unknown,
                       "a layer only another repository has");
  push_blob_ok(c, kRepo, spec.layers[1]);
  c.check.expect_ok(c.run(op::PutManifest{kRepo, "v1", type, body}), 201, "every blob there");
  c.check.expect_error(c.run(op::GetManifest{kRepo, "v0"}), Code::manifest_unknown,
                       "a refused push leaves no tag");
  ImageSpec absent = small_image(6);
  std::string index = index_manifest({{type, body}, {type, image_manifest(absent)}});
  c.check.expect_error(c.run(op::PutManifest{kRepo, "idx", std::string(api::kOciIndexType), index}),
                       Code::manifest_blob_unknown, "an index naming an unknown manifest");
}

void manifest_invalid(CheckContext& c) {
  ImageSpec spec = small_image(7);
  push_ok(c, kRepo, spec, "v1");
  std::string body = image_manifest(spec);
  c.check.expect_error(c.run(op::PutManifest{kRepo, "a", std::string(api::kOciIndexType), body}),
                       Code::manifest_invalid, "mediaType differs from Content-Type");
  c.check.expect_error(
      c.run(op::PutManifest{kRepo, "b", std::string(api::kOciManifestType), "{nope"}),
      Code::manifest_invalid, "not JSON");
  std::string both = body;
  both.insert(both.size() - 1, ",\"manifests\":[]");
  c.check.expect_error(c.run(op::PutManifest{kRepo, "c", std::string(api::kOciManifestType), both}),
                       Code::manifest_invalid, "both a manifest and an index");
  std::string both_index = index_manifest({});
  both_index.insert(both_index.size() - 1, ",\"layers\":[]");
  c.check.expect_error(
      c.run(op::PutManifest{kRepo, "d", std::string(api::kOciIndexType), both_index}),
      Code::manifest_invalid, "an index with layers");
  c.check.expect_error(c.run(op::GetManifest{kRepo, "c"}), Code::manifest_unknown,
                       "a refused manifest is not tagged");
}

void manifest_size_limit(CheckContext& c) {
  ImageSpec spec = small_image(8);
  spec.annotations["pad"] = std::string(4 * 1024 * 1024 - 1024, 'p');
  std::string body = image_manifest(spec);
  c.check.expect(body.size() <= api::kManifestLimitBytes, "fixture fits 4 MiB");
  c.check.expect(push_image(c.registry, kRepo, spec, "big").has_value(),
                 "a manifest just under 4 MiB is accepted");
  spec.annotations["pad"] = std::string(4 * 1024 * 1024 + 1, 'p');
  c.check.expect_error(c.run(op::PutManifest{kRepo, "huge", std::string(api::kOciManifestType),
                                             image_manifest(spec)}),
                       Code::size_invalid, "a manifest over 4 MiB", 413);
}

void manifest_unknown(CheckContext& c) {
  c.check.expect_error(c.run(op::GetManifest{kRepo, "latest"}), Code::manifest_unknown,
                       "unknown repository");
  push_ok(c, kRepo, small_image(9), "v1");
  c.check.expect_error(c.run(op::GetManifest{kRepo, "latest"}), Code::manifest_unknown,
                       "unknown tag");
  c.check.expect_error(c.run(op::StatManifest{kRepo, kUnknownDigest}), Code::manifest_unknown,
                       "unknown digest");
  c.check.expect_error(c.run(op::GetManifest{kRepo, "sha256:abc"}), Code::digest_invalid,
                       "malformed digest reference");
}

void manifest_delete_by_digest(CheckContext& c) {
  std::string d = push_ok(c, kRepo, small_image(10), "v1");
  c.check.expect_ok(c.run(op::DeleteManifest{kRepo, d}), 202, "delete by digest");
  c.check.expect_error(c.run(op::GetManifest{kRepo, d}), Code::manifest_unknown, "GET by digest");
  c.check.expect_error(c.run(op::GetManifest{kRepo, "v1"}), Code::manifest_unknown,
                       "its tags go with it");
  auto tags = c.run(op::ListTags{kRepo, {}});
  c.check.expect_ok(tags, 200, "tags list");
  c.check.expect(tags.entries.empty(), "no tag left");
  c.check.expect_error(c.run(op::DeleteManifest{kRepo, d}), Code::manifest_unknown, "delete again");
}

void manifest_delete_by_tag(CheckContext& c) {
  std::string d = push_ok(c, kRepo, small_image(11), "v1");
  push_ok(c, kRepo, small_image(11), "v2");
  c.check.expect_ok(c.run(op::DeleteManifest{kRepo, "v1"}), 202, "delete a tag");
  c.check.expect_error(c.run(op::GetManifest{kRepo, "v1"}), Code::manifest_unknown, "tag gone");
  c.check.expect_ok(c.run(op::GetManifest{kRepo, d}), 200, "the manifest stays");
  c.check.expect_ok(c.run(op::GetManifest{kRepo, "v2"}), 200, "other tags stay");
}

void tag_moves(CheckContext& c) {
  push_ok(c, kRepo, small_image(12), "latest");
  std::string second = push_ok(c, kRepo, small_image(13), "latest");
  c.check.expect(c.run(op::GetManifest{kRepo, "latest"}).digest == second,
                 "a tag names the last manifest pushed under it");
}

// --- listings ---

void tags_list(CheckContext& c) {
  c.check.expect_error(c.run(op::ListTags{kRepo, {}}), Code::name_unknown, "unknown repository");
  ImageSpec spec = small_image(14);
  for (std::string t : {"b", "a", "v1.0", "C", "_x", "a-1"}) push_ok(c, kRepo, spec, t);
  auto all = c.run(op::ListTags{kRepo, {}});
  c.check.expect_ok(all, 200, "list");
  std::vector<std::string> want = {"C", "_x", "a", "a-1", "b", "v1.0"};
  c.check.expect(all.entries == want, "sorted tags: " + show(all));
  c.check.expect(!all.next_last, "no Link without n");
}

void tags_pagination(CheckContext& c) {
  ImageSpec spec = small_image(15);
  for (std::string t : {"t1", "t2", "t3", "t4", "t5"}) push_ok(c, kRepo, spec, t);
  auto p1 = c.run(op::ListTags{kRepo, {2, std::nullopt}});
  c.check.expect(p1.entries == std::vector<std::string>{"t1", "t2"}, "n=2: " + show(p1));
  c.check.expect(p1.next_last == std::optional<std::string>("t2"), "Link after t2: " + show(p1));
  auto p2 = c.run(op::ListTags{kRepo, {2, "t2"}});
  c.check.expect(p2.entries == std::vector<std::string>{"t3", "t4"}, "n=2 last=t2: " + show(p2));
  auto p3 = c.run(op::ListTags{kRepo, {2, "t4"}});
  c.check.expect(p3.entries == std::vector<std::string>{"t5"}, "n=2 last=t4: " + show(p3));
  c.check.expect(!p3.next_last, "no Link on the last page");
  auto zero = c.run(op::ListTags{kRepo, {0, std::nullopt}});
  c.check.expect(zero.entries.empty() && !zero.next_last, "n=0: empty, no Link: " + show(zero));
  auto rest = c.run(op::ListTags{kRepo, {std::nullopt, "t3"}});
  c.check.expect(rest.entries == std::vector<std::string>{"t4", "t5"}, "last without n");
  auto absent = c.run(op::ListTags{kRepo, {10, "t25"}});
  c.check.expect(absent.entries == std::vector<std::string>{"t3", "t4", "t5"},
                 "last that is no tag starts after it lexically: " + show(absent));
}

void catalog_pagination(CheckContext& c) {
  for (std::string r : {"c/x", "a", "b/y", "b"}) push_blob_ok(c, r, "content");
  auto all = c.run(op::Catalog{{}});
  c.check.expect_ok(all, 200, "catalog");
  c.check.expect(all.entries == std::vector<std::string>{"a", "b", "b/y", "c/x"}, show(all));
  auto p1 = c.run(op::Catalog{{3, std::nullopt}});
  c.check.expect(p1.entries == std::vector<std::string>{"a", "b", "b/y"}, show(p1));
  c.check.expect(p1.next_last == std::optional<std::string>("b/y"), "Link: " + show(p1));
  auto p2 = c.run(op::Catalog{{3, "b/y"}});
  c.check.expect(p2.entries == std::vector<std::string>{"c/x"} && !p2.next_last, show(p2));
}

// --- referrers ---

void referrers(CheckContext& c) {
  ImageSpec subject = small_image(16);
  std::string subject_body = image_manifest(subject);
  std::string subject_digest = digest_of(subject_body);
  ImageSpec sbom;
  sbom.config = "{\"sbom\":1}";
  sbom.config_media_type = "application/vnd.example.sbom.config";
  sbom.subject = subject_body;
  sbom.annotations = {{"org.example.kind", "sbom"}};
  ImageSpec sig;
  sig.config = "{}";
  sig.artifact_type = "application/vnd.example.signature";
  sig.layers = {"signature bytes"};
  sig.subject = subject_body;
  // Referrers first: a registry must accept a subject that does not exist yet.
  std::string sbom_digest = push_ok(c, kRepo, sbom, digest_of(image_manifest(sbom)));
  std::string sig_digest = push_ok(c, kRepo, sig, "sig");
  push_ok(c, kRepo, subject, "v1");
  push_ok(c, kRepo, small_image(17), "unrelated");

  auto all = c.run(op::GetReferrers{kRepo, subject_digest, std::nullopt});
  c.check.expect_ok(all, 200, "referrers");
  c.check.expect(all.entries.size() == 2, "two referrers: " + show(all));
  c.check.expect(!all.filter_applied, "no filter");
  bool sbom_seen = false, sig_seen = false;
  for (const auto& e : all.entries) {
    sbom_seen |= e.starts_with(sbom_digest + " application/vnd.example.sbom.config ") &&
                 e.ends_with("{org.example.kind=sbom}");
    sig_seen |= e.starts_with(sig_digest + " application/vnd.example.signature ");
  }
  c.check.expect(sbom_seen,
                 "the sbom's artifactType is its config's mediaType, annotations copied");
  c.check.expect(sig_seen, "the signature's artifactType is its artifactType field");

  auto filtered =
      c.run(op::GetReferrers{kRepo, subject_digest, "application/vnd.example.signature"});
  c.check.expect(filtered.entries.size() == 1 && filtered.filter_applied,
                 "artifactType filter: " + show(filtered));
  auto none = c.run(op::GetReferrers{kRepo, kUnknownDigest, std::nullopt});
  c.check.expect_ok(none, 200, "referrers of an unknown digest");
  c.check.expect(none.entries.empty(), "are an empty index");
  c.check.expect_error(c.run(op::GetReferrers{kRepo, "sha256:bad", std::nullopt}),
                       Code::digest_invalid, "malformed digest");
  c.check.expect_ok(c.run(op::DeleteManifest{kRepo, sig_digest}), 202, "delete a referrer");
  c.check.expect(c.run(op::GetReferrers{kRepo, subject_digest, std::nullopt}).entries.size() == 1,
                 "a deleted referrer leaves the list");
}

}  // namespace

const std::vector<RegistryCheck>& registry_checks() {
  static const std::vector<RegistryCheck> checks = {
      {"blob-push-then-get", "end-4b/end-2: a pushed blob reads back, HEAD gives size",
       blob_push_then_get},
      {"blob-unknown", "end-2: 404 BLOB_UNKNOWN", blob_unknown},
      {"blob-digest-invalid", "DIGEST_INVALID for a mismatching or malformed digest",
       blob_digest_invalid},
      {"blob-range", "end-2: Range gives 206; unsatisfiable 416", blob_range},
      {"blob-delete", "end-10: 202 then 404", blob_delete},
      {"upload-chunked", "end-4a/5/13/6: chunks, status, completion", upload_chunked},
      {"upload-monolithic-put", "end-4a then end-6 with the whole blob", upload_monolithic_put},
      {"upload-wrong-offset", "end-5: out-of-order chunk 416, session kept", upload_wrong_offset},
      {"upload-wrong-digest", "end-6: 400 DIGEST_INVALID, nothing visible, session over",
       upload_wrong_digest},
      {"upload-cancel", "DELETE <location> ends the session", upload_cancel},
      {"upload-unknown-session", "404 BLOB_UPLOAD_UNKNOWN", upload_unknown_session},
      {"chunked-equals-monolithic", "the same blob and answer either way",
       chunked_equals_monolithic},
      {"mount-known", "end-11: 201 and the blob is in the target", mount_known},
      {"mount-unknown-falls-back", "end-11: 202 and an upload session", mount_unknown_falls_back},
      {"name-invalid", "the name grammar; 400 NAME_INVALID", name_invalid},
      {"manifest-push-pull", "end-7/end-3: exact bytes by tag and digest", manifest_push_pull},
      {"manifest-types", "OCI manifest/index, Docker manifest/list", manifest_types},
      {"manifest-digest-mismatch", "end-7 by digest: 400 DIGEST_INVALID", manifest_digest_mismatch},
      {"manifest-blob-unknown", "400 MANIFEST_BLOB_UNKNOWN for a missing blob or child",
       manifest_blob_unknown},
      {"manifest-invalid", "mediaType vs Content-Type, not JSON, manifest and index",
       manifest_invalid},
      {"manifest-size-limit", "4 MiB accepted, larger 413", manifest_size_limit},
      {"manifest-unknown", "end-3: 404 MANIFEST_UNKNOWN", manifest_unknown},
      {"manifest-delete-by-digest", "end-9: 202, tags go too", manifest_delete_by_digest},
      {"manifest-delete-by-tag", "end-9 with a tag: 202, manifest stays", manifest_delete_by_tag},
      {"tag-moves", "a tag names the last manifest pushed", tag_moves},
      {"tags-list", "end-8a: sorted; unknown repository 404 NAME_UNKNOWN", tags_list},
      {"tags-pagination", "end-8b: n, last, Link", tags_pagination},
      {"catalog-pagination", "_catalog: sorted, n, last, Link", catalog_pagination},
      {"referrers", "end-12a/b: subject, artifactType, filter, annotations", referrers},
  };
  return checks;
}

CheckReport run_registry_check(const RegistryCheck& check, const RegistryFactory& factory) {
  Checker checker;
  std::unique_ptr<api::Registry> registry = factory();
  CheckContext ctx{*registry, {}, checker};
  check.run(ctx);
  return CheckReport{check.name, checker.failures()};
}

}  // namespace gantry::testing::registry
