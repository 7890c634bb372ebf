#include "runtime/registry/transfer/parallel.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace gantry::runtime::registry::transfer {

Result<void> parallel_for(size_t count, size_t workers,
                          const std::function<Result<void>(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> first;
  auto work = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= count) return;
      auto r = fn(i);
      if (!r) {
        std::lock_guard lock(mu);
        if (!first) first = std::move(r).error();
        failed.store(true);
        return;
      }
    }
  };
  size_t n = std::min(workers == 0 ? size_t{1} : workers, count);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(work);
  if (n > 0) work();
  for (auto& t : threads) t.join();
  if (first) return *first;
  return ok();
}

}  // namespace gantry::runtime::registry::transfer
