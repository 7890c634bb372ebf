// Progress of a transfer, one line per blob.
//
// On a terminal (mode tty) the lines are redrawn in place about ten times a second:
//   "sha256:3f4a9c1b2d7e  copying   12.3 MiB / 28.1 MiB"
// Otherwise (mode plain) a line is printed when a blob starts and when it ends. Mode quiet
// prints nothing. Thread-safe: transfers report from their own threads.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "model/base/digest.h"

namespace gantry::runtime::registry::transfer {

enum class ProgressMode { quiet, plain, tty };

// tty when fd is a terminal, else plain; quiet when asked.
ProgressMode progress_mode_for(int fd, bool quiet);

class Progress {
 public:
  Progress(ProgressMode mode, FILE* out);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Returns the id of a new line; action is a verb ("copying", "exists", "mounted",
  // "unpacking").
  size_t start(const Digest& digest, uint64_t total_bytes, std::string action);
  void advance(size_t id, uint64_t bytes);
  void finish(size_t id, std::string action = "done");
  // A line of its own (manifest written, tag set).
  void note(const std::string& text);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// "12.3 MiB"
std::string format_bytes(uint64_t bytes);

}  // namespace gantry::runtime::registry::transfer
