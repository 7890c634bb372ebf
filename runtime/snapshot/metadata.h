// Metadata of a snapshotter root: what each key or name is, its parent, and the number of the
// directory that holds its files. Directory numbers come from a counter, never from keys (a
// key may hold '/' or be long), and are never reused while the metadata lives.
//
// Persisted as one JSON file, replaced atomically (write a temp file, fsync, rename, fsync the
// directory), so a crash leaves either the old or the new state, never a mix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "model/base/result.h"
#include "runtime/snapshot/snapshotter.h"

namespace gantry::runtime::snapshot {

struct Record {
  uint64_t id = 0;  // directory number under <root>/snapshots
  Info info;        // info.name is the map key
};

struct Metadata {
  std::string backend;
  uint64_t next_id = 1;
  std::map<std::string, Record, std::less<>> records;

  // Reads file; a missing file is an empty metadata for backend. A file written for another
  // backend is failed_precondition; one that does not parse is invalid_argument.
  static Result<Metadata> load(const std::filesystem::path& file, std::string_view backend);
  Result<void> save(const std::filesystem::path& file) const;

  const Record* find(std::string_view key) const;
  bool has_children(std::string_view name) const;
};

}  // namespace gantry::runtime::snapshot
