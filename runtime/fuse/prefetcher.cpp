#include "runtime/fuse/prefetcher.h"

#include <fcntl.h>
#include <unistd.h>

#include "runtime/sys/fd.h"

namespace gantry::runtime::fuse {

Prefetcher::~Prefetcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Prefetcher::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (jobs_.size() > 64) return;  // far behind the reader: the hints would come too late
    jobs_.push_back(std::move(job));
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
  }
  cv_.notify_one();
}

void Prefetcher::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    for (const auto& p : job.paths) {
      sys::UniqueFd fd(::openat(job.layer_fd, p.c_str(),
                                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME | O_NONBLOCK));
      if (!fd) continue;
      ::posix_fadvise(fd.get(), 0, static_cast<off_t>(max_bytes_per_file_), POSIX_FADV_WILLNEED);
    }
  }
}

}  // namespace gantry::runtime::fuse
