// PrefetchingSource: reads another Source ahead on its own thread, so that producing the bytes
// (reading the blob, hashing it, inflating, hashing the tar) runs on one core while the caller
// consumes them (parsing the tar, writing files) on the other. Bytes come out in order,
// unchanged; an error from the inner source comes out where it happened, once the bytes
// before it have been read.
//
// The inner source belongs to the thread until the end of the stream has been read or the
// PrefetchingSource is destroyed; call join() before touching the inner source again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/image/compression.h"

namespace gantry::runtime::image {

class PrefetchingSource final : public Source {
 public:
  explicit PrefetchingSource(Source& inner, size_t chunk_bytes = 1 << 20, size_t depth = 4);
  ~PrefetchingSource() override;
  PrefetchingSource(const PrefetchingSource&) = delete;
  PrefetchingSource& operator=(const PrefetchingSource&) = delete;

  Result<size_t> read(std::span<uint8_t> buf) override;
  // Reads to the end of the stream, discarding.
  Result<void> drain();
  // Stops the thread (if the end was not reached) and waits for it.
  void join();

 private:
  struct Chunk {
    std::vector<uint8_t> bytes;
    size_t size = 0;
    std::optional<Error> error;
    bool end = false;
  };
  void produce();

  Source& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> ready_;
  std::vector<std::vector<uint8_t>> free_;
  bool stop_ = false;
  // Consumer side.
  std::optional<Chunk> current_;
  size_t offset_ = 0;
  std::optional<Error> error_;
  bool end_ = false;
  std::thread thread_;
};

}  // namespace gantry::runtime::image
