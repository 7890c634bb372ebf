#include "model/api/http_status.h"

namespace gantry::api {

int http_status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::already_exists:
    case ErrorKind::conflict:
    case ErrorKind::failed_precondition:
      return 409;
    case ErrorKind::invalid_argument:
      return 400;
    case ErrorKind::permission_denied:
      return 403;
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::not_implemented:
      return 501;
    case ErrorKind::internal:
      return 500;
  }
  return 500;
}

ErrorKind error_kind_of_http_status(int status) {
  switch (status) {
    case 400:
    case 413:
    case 416:
      return ErrorKind::invalid_argument;
    case 401:
    case 403:
      return ErrorKind::permission_denied;
    case 404:
      return ErrorKind::not_found;
    case 405:
    case 501:
      return ErrorKind::not_implemented;
    case 409:
      return ErrorKind::conflict;
    case 429:
    case 503:
      return ErrorKind::unavailable;
    default:
      break;
  }
  if (status >= 400 && status < 500) return ErrorKind::invalid_argument;
  return ErrorKind::internal;
}

namespace {

struct CodeRow {
  RegistryErrorCode code;
  std::string_view name;
  std::string_view description;
  int status;
  ErrorKind kind;
};

// distribution-spec 1.1, "Error Codes"; the statuses are those of the endpoint table and of
// the distribution registry for the same conditions.
constexpr CodeRow kCodeTable[] = {
    {RegistryErrorCode::blob_unknown, "BLOB_UNKNOWN", "blob unknown to registry", 404,
     ErrorKind::not_found},
    {RegistryErrorCode::blob_upload_invalid, "BLOB_UPLOAD_INVALID", "blob upload invalid", 400,
     ErrorKind::invalid_argument},
    {RegistryErrorCode::blob_upload_unknown, "BLOB_UPLOAD_UNKNOWN",
     "blob upload unknown to registry", 404, ErrorKind::not_found},
    {RegistryErrorCode::digest_invalid, "DIGEST_INVALID",
     "provided digest did not match uploaded content", 400, ErrorKind::invalid_argument},
    {RegistryErrorCode::manifest_blob_unknown, "MANIFEST_BLOB_UNKNOWN",
     "manifest references a manifest or blob unknown to registry", 400,
     ErrorKind::failed_precondition},
    {RegistryErrorCode::manifest_invalid, "MANIFEST_INVALID", "manifest invalid", 400,
     ErrorKind::invalid_argument},
    {RegistryErrorCode::manifest_unknown, "MANIFEST_UNKNOWN", "manifest unknown to registry", 404,
     ErrorKind::not_found},
    {RegistryErrorCode::name_invalid, "NAME_INVALID", "invalid repository name", 400,
     ErrorKind::invalid_argument},
    {RegistryErrorCode::name_unknown, "NAME_UNKNOWN", "repository name not known to registry", 404,
     ErrorKind::not_found},
    {RegistryErrorCode::size_invalid, "SIZE_INVALID",
     "provided length did not match content length", 400, ErrorKind::invalid_argument},
    {RegistryErrorCode::unauthorized, "UNAUTHORIZED", "authentication required", 401,
     ErrorKind::permission_denied},
    {RegistryErrorCode::denied, "DENIED", "requested access to the resource is denied", 403,
     ErrorKind::permission_denied},
    {RegistryErrorCode::unsupported, "UNSUPPORTED", "the operation is unsupported", 405,
     ErrorKind::not_implemented},
    {RegistryErrorCode::toomanyrequests, "TOOMANYREQUESTS", "too many requests", 429,
     ErrorKind::unavailable},
    {RegistryErrorCode::range_invalid, "RANGE_INVALID", "requested range not satisfiable", 416,
     ErrorKind::invalid_argument},
};

const CodeRow& row(RegistryErrorCode code) {
  for (const auto& r : kCodeTable)
    if (r.code == code) return r;
  return kCodeTable[0];  // unreachable: the table covers the enum
}

}  // namespace

std::string_view to_string(RegistryErrorCode code) {
  return row(code).name;
}
std::string_view description(RegistryErrorCode code) {
  return row(code).description;
}
int default_http_status(RegistryErrorCode code) {
  return row(code).status;
}
ErrorKind error_kind_of(RegistryErrorCode code) {
  return row(code).kind;
}

std::optional<RegistryErrorCode> registry_error_code_from_string(std::string_view text) {
  for (const auto& r : kCodeTable)
    if (r.name == text) return r.code;
  return std::nullopt;
}

}  // namespace gantry::api
