#include "runtime/image/prefetch.h"

#include <algorithm>
#include <cstring>

namespace gantry::runtime::image {

PrefetchingSource::PrefetchingSource(Source& inner, size_t chunk_bytes, size_t depth)
    : inner_(inner) {
  for (size_t i = 0; i < depth; ++i) free_.emplace_back(chunk_bytes);
  thread_ = std::thread([this] { produce(); });
}

PrefetchingSource::~PrefetchingSource() {
  join();
}

void PrefetchingSource::join() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PrefetchingSource::produce() {
  for (;;) {
    std::vector<uint8_t> buf;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      buf = std::move(free_.back());
      free_.pop_back();
    }
    Chunk chunk;
    auto n = inner_.read(std::span(buf));
    if (!n) {
      chunk.error = n.error();
    } else if (*n == 0) {
      chunk.end = true;
    } else {
      chunk.size = *n;
    }
    chunk.bytes = std::move(buf);
    bool last = chunk.error.has_value() || chunk.end;
    {
      std::lock_guard lock(mu_);
      ready_.push_back(std::move(chunk));
    }
    cv_.notify_all();
    if (last) return;
  }
}

Result<size_t> PrefetchingSource::read(std::span<uint8_t> buf) {
  while (!current_ || offset_ == current_->size) {
    if (error_) return *error_;
    if (end_) return size_t{0};
    std::unique_lock lock(mu_);
    if (current_) {
      free_.push_back(std::move(current_->bytes));
      current_.reset();
      cv_.notify_all();
    }
    cv_.wait(lock, [&] { return !ready_.empty(); });
    Chunk c = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    offset_ = 0;
    if (c.error) {
      error_ = std::move(c.error);
    } else if (c.end) {
      end_ = true;
    } else {
      current_ = std::move(c);
    }
  }
  size_t n = std::min(buf.size(), current_->size - offset_);
  std::memcpy(buf.data(), current_->bytes.data() + offset_, n);
  offset_ += n;
  return n;
}

Result<void> PrefetchingSource::drain() {
  std::vector<uint8_t> sink(1 << 16);
  for (;;) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, read(std::span(sink)));
    if (n == 0) return ok();
  }
}

}  // namespace gantry::runtime::image
