// How errors travel over HTTP: the table between Gantry's ErrorKind and HTTP statuses (the
// Docker Engine API's conventions), and the OCI distribution spec's error codes with the
// status each one is answered with by default.
//
// Vocabulary:
//   RegistryErrorCode  the `code` of an entry in a distribution error body
//                      (`{"errors":[{"code":"BLOB_UNKNOWN",...}]}`), distribution-spec 1.1
//                      "Error Codes" code-1..code-14, plus RANGE_INVALID, which Gantry uses for
//                      the 416 answers (a chunk at the wrong offset, an unsatisfiable Range)
//                      that the spec gives a status but no code.
//   default status     the status a code is answered with unless an endpoint says otherwise
//                      (e.g. SIZE_INVALID is 400, but a manifest over the size limit gets 413).
#pragma once

#include <optional>
#include <string_view>

#include "model/base/error.h"

namespace gantry::api {

// --- ErrorKind <-> HTTP status (Docker Engine API conventions) ---

// not_found 404, already_exists 409, conflict 409, invalid_argument 400, failed_precondition
// 409 (Docker answers "container is not running" with 409), permission_denied 403,
// unavailable 503, not_implemented 501, internal 500.
int http_status_of(ErrorKind kind);
// The inverse for any status a server may send: 400 invalid_argument, 401 and 403
// permission_denied, 404 not_found, 405 and 501 not_implemented, 409 conflict, 413 and 416
// invalid_argument, 429 and 503 unavailable, any other 4xx invalid_argument, 5xx internal.
ErrorKind error_kind_of_http_status(int status);

// --- distribution error codes ---

enum class RegistryErrorCode {
  blob_unknown,           // code-1  404
  blob_upload_invalid,    // code-2  400
  blob_upload_unknown,    // code-3  404
  digest_invalid,         // code-4  400
  manifest_blob_unknown,  // code-5  400 (spec: "references a manifest or blob unknown")
  manifest_invalid,       // code-6  400
  manifest_unknown,       // code-7  404
  name_invalid,           // code-8  400
  name_unknown,           // code-9  404
  size_invalid,           // code-10 400
  unauthorized,           // code-11 401
  denied,                 // code-12 403
  unsupported,            // code-13 405 (the status distribution uses when deletion is off)
  toomanyrequests,        // code-14 429
  range_invalid,          // Gantry's, 416 (see above)
};

inline constexpr RegistryErrorCode kAllRegistryErrorCodes[] = {
    RegistryErrorCode::blob_unknown,          RegistryErrorCode::blob_upload_invalid,
    RegistryErrorCode::blob_upload_unknown,   RegistryErrorCode::digest_invalid,
    RegistryErrorCode::manifest_blob_unknown, RegistryErrorCode::manifest_invalid,
    RegistryErrorCode::manifest_unknown,      RegistryErrorCode::name_invalid,
    RegistryErrorCode::name_unknown,          RegistryErrorCode::size_invalid,
    RegistryErrorCode::unauthorized,          RegistryErrorCode::denied,
    RegistryErrorCode::unsupported,           RegistryErrorCode::toomanyrequests,
    RegistryErrorCode::range_invalid,
};

// "BLOB_UNKNOWN", ... as the error body spells it.
std::string_view to_string(RegistryErrorCode code);
std::optional<RegistryErrorCode> registry_error_code_from_string(std::string_view text);
// The spec's description ("blob unknown to registry"), usable as the body's `message`.
std::string_view description(RegistryErrorCode code);
int default_http_status(RegistryErrorCode code);
// The ErrorKind a caller in Gantry sees for a code (BLOB_UNKNOWN -> not_found, DIGEST_INVALID
// -> invalid_argument, UNSUPPORTED -> not_implemented, TOOMANYREQUESTS -> unavailable, ...).
ErrorKind error_kind_of(RegistryErrorCode code);

}  // namespace gantry::api
