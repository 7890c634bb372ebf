#include "runtime/registry/transfer/verify_source.h"

#include <unistd.h>

#include <cerrno>
#include <vector>

namespace gantry::runtime::registry::transfer {

VerifyingSource::VerifyingSource(std::unique_ptr<image::Source> inner, Digest expected,
                                 std::optional<uint64_t> size_bytes, std::string what)
    : inner_(std::move(inner)),
      expected_(expected),
      size_bytes_(size_bytes),
      what_(std::move(what)) {}

Result<size_t> VerifyingSource::read(std::span<uint8_t> buf) {
  if (done_) return size_t{0};
  GANTRY_ASSIGN_OR_RETURN(size_t n, inner_->read(buf));
  if (n > 0) {
    hash_.update(buf.first(n));
    read_bytes_ += n;
    if (size_bytes_ && read_bytes_ > *size_bytes_) {
      return Error(ErrorKind::invalid_argument,
                   what_ + ": more than the " + std::to_string(*size_bytes_) + " bytes expected");
    }
    return n;
  }
  done_ = true;
  if (size_bytes_ && read_bytes_ != *size_bytes_) {
    return Error(ErrorKind::invalid_argument, what_ + ": " + std::to_string(read_bytes_) +
                                                  " bytes, expected " +
                                                  std::to_string(*size_bytes_));
  }
  Digest got = hash_.finish();
  if (got != expected_) {
    return Error(ErrorKind::invalid_argument,
                 what_ + ": digest mismatch: expected " + expected_.str() + ", got " + got.str());
  }
  return size_t{0};
}

Result<size_t> CountingSource::read(std::span<uint8_t> buf) {
  GANTRY_ASSIGN_OR_RETURN(size_t n, inner_->read(buf));
  if (n > 0 && on_bytes_) on_bytes_(n);
  return n;
}

OwnedFdSource::~OwnedFdSource() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t> OwnedFdSource::read(std::span<uint8_t> buf) {
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return errno_error(errno, "read");
  }
}

Result<void> skip_bytes(image::Source& source, uint64_t offset_bytes) {
  std::vector<uint8_t> buf(1 << 16);
  while (offset_bytes > 0) {
    size_t want = offset_bytes < buf.size() ? static_cast<size_t>(offset_bytes) : buf.size();
    GANTRY_ASSIGN_OR_RETURN(size_t n, source.read(std::span(buf.data(), want)));
    if (n == 0) return Error(ErrorKind::invalid_argument, "stream ended before the resume offset");
    offset_bytes -= n;
  }
  return ok();
}

}  // namespace gantry::runtime::registry::transfer
