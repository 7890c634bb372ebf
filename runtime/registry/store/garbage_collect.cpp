// Garbage collection while pushes go on. Mark: every blob that a manifest in any repository
// references (index children are manifests of the same repository, so walking every manifest
// covers them), and every blob linked within the grace period. Sweep: the rest of the content
// store, links first (so no reader is told a blob exists whose file is gone), then the files.
// The whole pass holds gc_mu_ exclusively, so no commit+link, mount or manifest check runs in
// between: a manifest is never accepted over a blob being removed, and a blob just committed
// is linked (and so within its grace) before any sweep can see it.
#include <unistd.h>

#include <cerrno>
#include <set>

#include "runtime/registry/store/store_impl.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::registry::detail {

namespace fs = std::filesystem;

Result<GcReport> StoreImpl::collect_garbage() {
  GcReport report;
  GANTRY_ASSIGN_OR_RETURN(report.sessions_expired, expire_sessions(session_idle_limit()));

  std::unique_lock gc(gc_mu_);
  auto now = Clock::now();
  std::set<Digest> live;
  std::vector<Repo*> repos;
  {
    std::shared_lock m(meta_mu_);
    for (const auto& [name, r] : repos_) {
      repos.push_back(r.get());
      for (const auto& [d, e] : r->manifests)
        live.insert(e.parsed.blobs.begin(), e.parsed.blobs.end());
      for (const auto& [d, link] : r->blobs)
        if (link.linked_at + options_.gc_grace > now) live.insert(d);
    }
  }
  std::vector<std::pair<Digest, uint64_t>> doomed;
  GANTRY_TRY_CTX(content_.walk([&](const Digest& d, const content::BlobInfo& info) {
    if (live.contains(d))
      ++report.blobs_kept;
    else
      doomed.emplace_back(d, static_cast<uint64_t>(info.size_bytes));
  }),
                 "gc: walk blobs");
  if (doomed.empty()) return report;

  for (Repo* r : repos) {
    std::lock_guard w(r->write_mu);
    std::vector<Digest> unlinked;
    {
      std::shared_lock m(meta_mu_);
      for (const auto& [d, size] : doomed)
        if (r->blobs.contains(d)) unlinked.push_back(d);
    }
    if (unlinked.empty()) continue;
    {
      std::unique_lock m(meta_mu_);
      for (const Digest& d : unlinked) r->blobs.erase(d);
    }
    for (const Digest& d : unlinked) {
      fs::path link = r->dir / kBlobsDir / d.hex();
      if (::unlink(link.c_str()) != 0 && errno != ENOENT)
        return errno_error(errno, "gc: unlink '" + link.string() + "'");
    }
    if (options_.durable) GANTRY_TRY(sys::fsync_dir(r->dir / kBlobsDir));
  }
  for (const auto& [d, size] : doomed) {
    auto removed = content_.remove(d);
    if (!removed && removed.error().kind() != ErrorKind::not_found)
      return std::move(removed).error().with_context("gc");
    ++report.blobs_removed;
    report.bytes_removed += size;
  }
  return report;
}

}  // namespace gantry::runtime::registry::detail
