// The pieces of the distribution protocol's HTTP form that both ends must spell the same way:
// gantry-registry writes them, the client (runtime/registry) reads them, and the conformance
// suite compares what comes out. Pure functions on strings; no I/O.
//
// Vocabulary:
//   error body    `{"errors":[{"code":"BLOB_UNKNOWN","message":"...","detail":...}]}` (spec,
//                 "Error Codes"); a 4xx may come without one (a proxy, a route that does not
//                 match), so reading one takes the code to assume.
//   Link          `</v2/<name>/tags/list?n=2&last=t2>; rel="next"` (RFC 5988): where the next
//                 page of a listing starts; we carry only its `last`.
//   upload Range  `Range: 0-<offset - 1>` on upload answers (an inclusive end; a non-standard use
//                 of the header). Offsets 0 and 1 both give `0-0` (distribution does the
//                 same), so the reader says which it expects: right after a start, empty.
//   Content-Range `<first>-<last>` on a PATCH chunk, `^[0-9]+-[0-9]+$` (spec, end-5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/api/registry.h"

namespace gantry::api {

// The JSON error body for an error: its code, its message (the code's description when empty).
std::string error_body_json(const RegistryError& error);

// The error an HTTP answer carries: the first entry's code when the body is a JSON error body
// with a known code; else `fallback` (what the endpoint's status means there, e.g.
// BLOB_UNKNOWN for a 404 on a blob), except that a 416 is always RANGE_INVALID. The status is
// kept as received.
RegistryError error_from_response(int http_status, std::string_view body,
                                  RegistryErrorCode fallback);

// `</v2/<name>/tags/list?n=<n>&last=<last>>; rel="next"` (`path` without query; `last`
// percent-encoded).
std::string link_header(std::string_view path, uint32_t n, std::string_view last);
// The `last` of a Link header with rel="next" (percent-decoded); nullopt when there is none.
std::optional<std::string> next_last_from_link(std::string_view header);

// `0-<offset - 1>`, and `0-0` for offset 0.
std::string upload_range_header(uint64_t offset_bytes);
// The offset an upload Range (`0-<end>`, optionally `bytes=`-prefixed) says: end + 1. A `0-0`
// reads as 1 unless `empty_when_zero` (use true right after starting a session).
std::optional<uint64_t> offset_from_upload_range(std::string_view header, bool empty_when_zero);

// `<first>-<last>` for a chunk of `size_bytes` (> 0) at `offset_bytes`.
std::string content_range_header(uint64_t offset_bytes, uint64_t size_bytes);
// Parses `^[0-9]+-[0-9]+$` with first <= last; anything else is nullopt (the server answers 416).
std::optional<ByteRange> parse_content_range(std::string_view header);

// The Range of a blob GET, `bytes=<first>-<last>`; and its parse (`bytes=<first>-` means to the
// end and yields last = UINT64_MAX; suffix ranges `bytes=-n` and lists are not supported).
std::string blob_range_header(const ByteRange& range);
std::optional<ByteRange> parse_blob_range(std::string_view header);

}  // namespace gantry::api
