// Where the distribution registry 2.8.2 (Debian's docker-registry) answers differently from the
// model, which follows the OCI distribution spec 1.1. Each departure is a predicate over one
// op's two outcomes and a reason; docs/registry-model.md ("What the distribution registry
// 2.8.2 does differently") lists the same ones for people.
#pragma once

#include <variant>
#include <vector>

#include "model/registry/model_registry.h"
#include "tests/property/registry/http/http_property.h"

namespace gantry::testing::registry_http {

// The model configured as close to distribution as the spec allows.
inline model::registry::ModelRegistryOptions distribution_model_options() {
  model::registry::ModelRegistryOptions o;
  return o;
}

namespace departure_detail {
using Code = api::RegistryErrorCode;
template <class... T>
bool is_op(const api::RegistryOp& op) {
  return (std::holds_alternative<T>(op) || ...);
}
inline bool fails(const api::RegistryOutcome& o, int status, Code code) {
  return o.http_status == status && o.error == code;
}
}  // namespace departure_detail

inline std::vector<Departure> distribution_departures() {
  using namespace departure_detail;
  namespace op = api::op;
  return {
      {"unknown-session-is-upload-invalid",
       "a session id distribution never issued is not a valid upload state: 404 "
       "BLOB_UPLOAD_INVALID instead of 404 BLOB_UPLOAD_UNKNOWN",
       [](const api::RegistryOp& o, const api::RegistryOutcome& m, const api::RegistryOutcome& s) {
         return is_op<op::UploadChunk, op::GetUploadStatus, op::CompleteUpload, op::CancelUpload>(
                    o) &&
                fails(m, 404, Code::blob_upload_unknown) &&
                fails(s, 404, Code::blob_upload_invalid);
       }},
      {"empty-chunk-offset-unchecked",
       "an empty PATCH whose Content-Range does not start at the session's offset is accepted "
       "(202, offset unchanged) where the model answers 416",
       [](const api::RegistryOp& o, const api::RegistryOutcome& m, const api::RegistryOutcome& s) {
         const auto* c = std::get_if<op::UploadChunk>(&o);
         return c != nullptr && c->bytes.empty() && fails(m, 416, Code::range_invalid) &&
                s.http_status == 202 && s.ok();
       }},
      {"chunk-offset-unchecked",
       "distribution does not read Content-Range: a chunk that does not start at the session's "
       "offset is appended where the session is (202) instead of refused with 416; the session "
       "then holds other bytes than the model's, so the comparison of that sequence ends here",
       [](const api::RegistryOp& o, const api::RegistryOutcome& m, const api::RegistryOutcome& s) {
         const auto* c = std::get_if<op::UploadChunk>(&o);
         return c != nullptr && !c->bytes.empty() && fails(m, 416, Code::range_invalid) &&
                s.http_status == 202 && s.ok();
       },
       /*ends_comparison=*/true},
  };
}

}  // namespace gantry::testing::registry_http
