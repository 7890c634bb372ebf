// Prefetcher: starts reading lower files before they are asked for.
//
// A program that reads a directory's files one after the other (tar, cp -r, a layer diff) waits
// for the disk once per file. When the first read of a lower file in a directory arrives, the
// union filesystem hands the next few files of that directory (in readdir order) to this
// worker, which asks the kernel to read them ahead (POSIX_FADV_WILLNEED), so that the disk
// works on several files at once. Layers are immutable, so nothing read ahead goes stale; a
// single `ls` triggers nothing, as only reads do.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gantry::runtime::fuse {

class Prefetcher {
 public:
  struct Job {
    int layer_fd = -1;  // a layer root, kept open by the caller for the worker's lifetime
    std::vector<std::string> paths;  // relative to the layer root
  };

  explicit Prefetcher(size_t max_bytes_per_file) : max_bytes_per_file_(max_bytes_per_file) {}
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Queues the job; the worker thread starts on first use (so after any fork).
  void submit(Job job);

 private:
  void run();

  size_t max_bytes_per_file_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace gantry::runtime::fuse
