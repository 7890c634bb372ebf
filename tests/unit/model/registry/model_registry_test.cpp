// ModelRegistry: every endpoint's answer and each error code it produces, through the
// dispatcher (ops as data) as the properties and the conformance suite use it, plus what only
// the model can show (session ids, sessions left behind, options, copies).
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/registry/model_registry.h"
#include "tests/conformance/registry/registry_fixtures.h"

using namespace gantry::model::registry;
namespace api = gantry::api;
namespace op = gantry::api::op;
namespace fx = gantry::testing::registry;
using Code = gantry::api::RegistryErrorCode;

namespace {

struct Fixture {
  ModelRegistry model;
  api::SessionBook sessions;
  api::RegistryOutcome run(const api::RegistryOp& o) { return api::apply(model, sessions, o); }
};

std::string show(const api::RegistryOutcome& o) {
  std::ostringstream os;
  os << o;
  return os.str();
}

void expect(const api::RegistryOutcome& got, int status, std::optional<Code> code = std::nullopt) {
  BOOST_CHECK_MESSAGE(got.http_status == status && got.error == code,
                      "got " + show(got) + ", want " + std::to_string(status) + " " +
                          (code ? std::string(api::to_string(*code)) : ""));
}

const std::string kOci(api::kOciManifestType);

}  // namespace

BOOST_FIXTURE_TEST_SUITE(registry_model, Fixture)

BOOST_AUTO_TEST_CASE(blob_endpoints) {
  std::string d = fx::digest_of("hello");
  expect(run(op::StatBlob{"r", d}), 404, Code::blob_unknown);
  expect(run(op::PushBlob{"r", d, "hello"}), 201);
  auto head = run(op::StatBlob{"r", d});
  expect(head, 200);
  BOOST_CHECK(head.size_bytes == 5u && !head.bytes);
  auto get = run(op::GetBlob{"r", d, std::nullopt});
  BOOST_CHECK(get.bytes == "hello" && get.digest == d);
  auto part = run(op::GetBlob{"r", d, api::ByteRange{1, 3}});
  expect(part, 206);
  BOOST_CHECK(part.bytes == "ell" && part.size_bytes == 5u);
  expect(run(op::GetBlob{"r", d, api::ByteRange{3, 1}}), 416, Code::range_invalid);
  expect(run(op::GetBlob{"r", d, api::ByteRange{5, 9}}), 416, Code::range_invalid);
  expect(run(op::GetBlob{"r", "md5:abc", std::nullopt}), 400, Code::digest_invalid);
  expect(run(op::GetBlob{"R", d, std::nullopt}), 400, Code::name_invalid);
  expect(run(op::DeleteBlob{"r", "sha256:x"}), 400, Code::digest_invalid);
  expect(run(op::DeleteBlob{"r", d}), 202);
  expect(run(op::DeleteBlob{"r", d}), 404, Code::blob_unknown);
}

BOOST_AUTO_TEST_CASE(an_empty_blob_is_a_blob) {
  std::string d = fx::digest_of("");
  expect(run(op::PushBlob{"r", d, ""}), 201);
  auto got = run(op::GetBlob{"r", d, std::nullopt});
  BOOST_CHECK(got.bytes == "" && got.size_bytes == 0u);
  expect(run(op::GetBlob{"r", d, api::ByteRange{0, 0}}), 416, Code::range_invalid);
}

BOOST_AUTO_TEST_CASE(deleting_a_blob_in_one_repository_leaves_the_others) {
  std::string d = fx::digest_of("shared");
  expect(run(op::PushBlob{"a", d, "shared"}), 201);
  expect(run(op::PushBlob{"b", d, "shared"}), 201);
  expect(run(op::DeleteBlob{"a", d}), 202);
  expect(run(op::StatBlob{"b", d}), 200);
  expect(run(op::StatBlob{"a", d}), 404, Code::blob_unknown);
}

BOOST_AUTO_TEST_CASE(session_ids_are_deterministic_and_per_repository) {
  auto a = model.start_upload("r");
  auto b = model.start_upload("r");
  BOOST_REQUIRE(a && b);
  BOOST_CHECK_EQUAL(a->session, "model-1");
  BOOST_CHECK_EQUAL(b->session, "model-2");
  auto other = model.upload_status("s", a->session);
  BOOST_REQUIRE(!other);
  BOOST_CHECK(other.error().code() == Code::blob_upload_unknown);
  BOOST_CHECK_EQUAL(model.session_count(), 2u);
}

BOOST_AUTO_TEST_CASE(upload_endpoints) {
  expect(run(op::StartUpload{"r"}), 202);
  expect(run(op::UploadChunk{"r", 0, 0, "ab"}), 202);
  expect(run(op::UploadChunk{"r", 0, 1, "x"}), 416, Code::range_invalid);
  expect(run(op::UploadChunk{"r", 0, 2, ""}), 202);  // an empty chunk at the offset is no-op
  auto st = run(op::GetUploadStatus{"r", 0});
  expect(st, 204);
  BOOST_CHECK(st.size_bytes == 2u);
  expect(run(op::CompleteUpload{"r", 0, fx::digest_of("abc"), "c"}), 201);
  BOOST_CHECK(run(op::GetBlob{"r", fx::digest_of("abc"), std::nullopt}).bytes == "abc");
  expect(run(op::UploadChunk{"r", 0, 3, "d"}), 404, Code::blob_upload_unknown);
  expect(run(op::UploadChunk{"r", 7, 0, "d"}), 404, Code::blob_upload_unknown);
  expect(run(op::CancelUpload{"r", 0}), 404, Code::blob_upload_unknown);
  expect(run(op::StartUpload{"r/"}), 400, Code::name_invalid);
  BOOST_CHECK_EQUAL(model.session_count(), 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_completion_leaves_no_session_and_no_blob) {
  expect(run(op::StartUpload{"r"}), 202);
  expect(run(op::UploadChunk{"r", 0, 0, "abc"}), 202);
  expect(run(op::CompleteUpload{"r", 0, fx::digest_of("abd"), ""}), 400, Code::digest_invalid);
  BOOST_CHECK_EQUAL(model.session_count(), 0u);
  expect(run(op::StatBlob{"r", fx::digest_of("abc")}), 404, Code::blob_unknown);
  expect(run(op::StartUpload{"r"}), 202);
  expect(run(op::CompleteUpload{"r", 1, "sha256:", "abc"}), 400, Code::digest_invalid);
  BOOST_CHECK_EQUAL(model.session_count(), 0u);
  expect(run(op::Catalog{{}}), 200);
  BOOST_CHECK(run(op::Catalog{{}}).entries.empty());  // no blob committed: no repository
}

BOOST_AUTO_TEST_CASE(cancel_ends_the_session) {
  expect(run(op::StartUpload{"r"}), 202);
  expect(run(op::CancelUpload{"r", 0}), 204);
  expect(run(op::GetUploadStatus{"r", 0}), 404, Code::blob_upload_unknown);
  BOOST_CHECK_EQUAL(model.session_count(), 0u);
}

BOOST_AUTO_TEST_CASE(mount) {
  std::string d = fx::digest_of("layer");
  expect(run(op::PushBlob{"src", d, "layer"}), 201);
  auto m = run(op::MountBlob{"dst", d, "src"});
  expect(m, 201);
  BOOST_CHECK(m.digest == d);
  expect(run(op::StatBlob{"dst", d}), 200);
  expect(run(op::MountBlob{"dst", d, "dst"}), 201);                   // from itself, it has it
  expect(run(op::MountBlob{"dst", fx::digest_of("x"), "src"}), 202);  // unknown blob
  expect(run(op::MountBlob{"dst", "sha256:bad", "src"}), 202);        // malformed digest
  expect(run(op::MountBlob{"dst", d, "BAD"}), 202);                   // invalid source name
  expect(run(op::MountBlob{"BAD", d, "src"}), 400, Code::name_invalid);
  BOOST_CHECK_EQUAL(sessions.started.size(), 3u);  // each fallback is a session
  expect(run(op::UploadChunk{"dst", 2, 0, "z"}), 202);
}

BOOST_AUTO_TEST_CASE(manifest_endpoints_and_codes) {
  fx::ImageSpec spec;
  spec.layers = {"l"};
  std::string body = fx::image_manifest(spec);
  std::string d = fx::digest_of(body);
  expect(run(op::PutManifest{"r", "v1", kOci, body}), 400, Code::manifest_blob_unknown);
  auto pushed = fx::push_image(model, "r", spec, "v1");
  BOOST_REQUIRE(pushed.has_value());
  BOOST_CHECK_EQUAL(pushed->digest.str(), d);
  auto head = run(op::StatManifest{"r", "v1"});
  expect(head, 200);
  BOOST_CHECK(head.size_bytes == body.size() && head.media_type == kOci && !head.bytes);
  BOOST_CHECK(run(op::GetManifest{"r", d}).bytes == body);
  expect(run(op::PutManifest{"r", ".bad", kOci, body}), 400, Code::manifest_invalid);
  expect(run(op::PutManifest{"r", "sha256:12", kOci, body}), 400, Code::digest_invalid);
  expect(run(op::PutManifest{"r", fx::digest_of("x"), kOci, body}), 400, Code::digest_invalid);
  expect(run(op::PutManifest{"r", "v2", "text/plain", body}), 400, Code::manifest_invalid);
  expect(run(op::GetManifest{"r", ".bad"}), 404, Code::manifest_unknown);
  expect(run(op::GetManifest{"r", "v9"}), 404, Code::manifest_unknown);
  expect(run(op::GetManifest{"nope", "v1"}), 404, Code::manifest_unknown);
  expect(run(op::GetManifest{"r", "sha256:1"}), 400, Code::digest_invalid);
  expect(run(op::DeleteManifest{"r", "v9"}), 404, Code::manifest_unknown);
  expect(run(op::DeleteManifest{"r", "v1"}), 202);
  expect(run(op::StatManifest{"r", d}), 200);
  expect(run(op::DeleteManifest{"r", d}), 202);
  expect(run(op::StatManifest{"r", d}), 404, Code::manifest_unknown);
  expect(run(op::DeleteManifest{"R", d}), 400, Code::name_invalid);
}

BOOST_AUTO_TEST_CASE(a_digest_check_comes_before_the_blob_check) {
  fx::ImageSpec spec;  // its config is not pushed
  expect(run(op::PutManifest{"r", fx::digest_of("x"), kOci, fx::image_manifest(spec)}), 400,
         Code::digest_invalid);
}

BOOST_AUTO_TEST_CASE(manifest_size_limit_is_an_option) {
  ModelRegistry small(ModelRegistryOptions{.manifest_limit_bytes = 400});
  fx::ImageSpec spec;
  BOOST_CHECK(fx::push_image(small, "r", spec, "ok").has_value());
  spec.annotations["pad"] = std::string(400, 'x');
  auto big = fx::push_image(small, "r", spec, "big");
  BOOST_REQUIRE(!big.has_value());
  BOOST_CHECK(big.error().code() == Code::size_invalid);
  BOOST_CHECK_EQUAL(big.error().http_status(), 413);
}

BOOST_AUTO_TEST_CASE(tag_deletion_can_be_refused) {
  ModelRegistry strict(ModelRegistryOptions{.tag_deletion = false});
  auto pushed = fx::push_image(strict, "r", fx::ImageSpec{}, "v1");
  BOOST_REQUIRE(pushed.has_value());
  auto del = strict.delete_manifest("r", "v1");
  BOOST_REQUIRE(!del.has_value());
  BOOST_CHECK(del.error().code() == Code::unsupported);
  BOOST_CHECK_EQUAL(del.error().http_status(), 405);
  BOOST_CHECK(strict.delete_manifest("r", pushed->digest.str()).has_value());
}

BOOST_AUTO_TEST_CASE(an_index_needs_its_children_in_the_same_repository) {
  fx::ImageSpec child;
  BOOST_REQUIRE(fx::push_image(model, "other", child, "c").has_value());
  std::string index = fx::index_manifest({{kOci, fx::image_manifest(child)}});
  std::string idx_type(api::kOciIndexType);
  expect(run(op::PutManifest{"r", "i", idx_type, index}), 400, Code::manifest_blob_unknown);
  BOOST_REQUIRE(fx::push_image(model, "r", child, "c").has_value());
  expect(run(op::PutManifest{"r", "i", idx_type, index}), 201);
}

BOOST_AUTO_TEST_CASE(listings) {
  expect(run(op::ListTags{"r", {}}), 404, Code::name_unknown);
  expect(run(op::ListTags{"-r", {}}), 400, Code::name_invalid);
  expect(run(op::PushBlob{"r", fx::digest_of("x"), "x"}), 201);
  auto empty = run(op::ListTags{"r", {}});
  expect(empty, 200);
  BOOST_CHECK(empty.entries.empty());
  for (const char* t : {"b", "a", "c"})
    BOOST_REQUIRE(fx::push_image(model, "r", fx::ImageSpec{}, t).has_value());
  auto page = run(op::ListTags{"r", {2, std::nullopt}});
  BOOST_CHECK(page.entries == (std::vector<std::string>{"a", "b"}));
  BOOST_CHECK(page.next_last == "b");
  auto exact = run(op::ListTags{"r", {3, std::nullopt}});
  BOOST_CHECK(exact.entries.size() == 3 && !exact.next_last);  // nothing remains: no Link
  auto cat = run(op::Catalog{{1, std::nullopt}});
  BOOST_CHECK(cat.entries == std::vector<std::string>{"r"} && !cat.next_last);
}

BOOST_AUTO_TEST_CASE(referrers_answer_an_index) {
  fx::ImageSpec subject;
  std::string subject_body = fx::image_manifest(subject);
  fx::ImageSpec ref;
  ref.artifact_type = "application/x.sig";
  ref.subject = subject_body;
  ref.annotations = {{"a", "b"}};
  auto pushed = fx::push_image(model, "r", ref, "sig");
  BOOST_REQUIRE(pushed.has_value());
  expect(run(op::GetReferrers{"nope", fx::digest_of(subject_body), std::nullopt}), 404,
         Code::name_unknown);
  expect(run(op::GetReferrers{"r", "sha256:q", std::nullopt}), 400, Code::digest_invalid);
  expect(run(op::GetReferrers{"-", fx::digest_of(subject_body), std::nullopt}), 400,
         Code::name_invalid);
  auto r = model.referrers("r", fx::digest_of(subject_body), std::string("application/x.sig"));
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE_EQUAL(r->manifests.size(), 1u);
  auto json = nlohmann::json::parse(api::referrers_index_json(*r));
  BOOST_CHECK_EQUAL(json["schemaVersion"], 2);
  BOOST_CHECK_EQUAL(json["mediaType"], std::string(api::kOciIndexType));
  BOOST_CHECK_EQUAL(json["manifests"][0]["digest"], pushed->digest.str());
  BOOST_CHECK_EQUAL(json["manifests"][0]["artifactType"], "application/x.sig");
  BOOST_CHECK_EQUAL(json["manifests"][0]["mediaType"], kOci);
  BOOST_CHECK_EQUAL(json["manifests"][0]["annotations"]["a"], "b");
  BOOST_CHECK_EQUAL(json["annotations"][std::string(api::kFiltersAppliedAnnotation)],
                    "artifactType");
  auto none = model.referrers("r", fx::digest_of(subject_body), std::string("other"));
  BOOST_REQUIRE(none.has_value());
  BOOST_CHECK(none->manifests.empty());
  auto plain = nlohmann::json::parse(
      api::referrers_index_json(*model.referrers("r", fx::digest_of("z"), std::nullopt)));
  BOOST_CHECK(plain["manifests"].empty() && !plain.contains("annotations"));
}

BOOST_AUTO_TEST_CASE(a_copy_is_independent) {
  expect(run(op::PushBlob{"r", fx::digest_of("x"), "x"}), 201);
  ModelRegistry copy = model;
  expect(run(op::DeleteBlob{"r", fx::digest_of("x")}), 202);
  BOOST_CHECK(copy.stat_blob("r", fx::digest_of("x")).has_value());
  BOOST_CHECK(!model.stat_blob("r", fx::digest_of("x")).has_value());
}

BOOST_AUTO_TEST_CASE(ops_and_outcomes_print) {
  std::ostringstream os;
  os << api::RegistryOp(op::UploadChunk{"r", 2, 10, "abc"}) << " | " << run(op::ListTags{"zz", {}});
  BOOST_CHECK_EQUAL(os.str(), "upload_chunk r session#2 offset=10 \"abc\" | 404 NAME_UNKNOWN");
}

BOOST_AUTO_TEST_SUITE_END()
