#include "runtime/registry/transfer/progress.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace gantry::runtime::registry::transfer {

ProgressMode progress_mode_for(int fd, bool quiet) {
  if (quiet) return ProgressMode::quiet;
  return ::isatty(fd) ? ProgressMode::tty : ProgressMode::plain;
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

struct Progress::State {
  struct Line {
    std::string name;
    uint64_t total = 0;
    uint64_t done = 0;
    std::string action;
  };
  ProgressMode mode;
  FILE* out;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Line> lines;
  size_t drawn = 0;          // lines on screen from the last redraw
  size_t first_visible = 0;  // lines above a note are left as they were
  bool dirty = false;
  bool stop = false;
  std::thread painter;

  std::string render(const Line& l) const {
    std::string s = l.name + "  " + l.action;
    s.resize(std::max<size_t>(s.size(), 32), ' ');
    s += format_bytes(l.done);
    if (l.total > 0) s += " / " + format_bytes(l.total);
    return s;
  }
  // Called with mu held.
  void redraw() {
    if (drawn > 0) std::fprintf(out, "\x1b[%zuA", drawn);
    for (size_t i = first_visible; i < lines.size(); ++i) {
      std::fprintf(out, "\r\x1b[2K%s\n", render(lines[i]).c_str());
    }
    drawn = lines.size() - first_visible;
    dirty = false;
    std::fflush(out);
  }
};

Progress::Progress(ProgressMode mode, FILE* out) : state_(std::make_unique<State>()) {
  state_->mode = mode;
  state_->out = out;
  if (mode == ProgressMode::tty) {
    state_->painter = std::thread([s = state_.get()] {
      std::unique_lock lock(s->mu);
      while (!s->stop) {
        s->cv.wait_for(lock, std::chrono::milliseconds(100));
        if (s->dirty) s->redraw();
      }
    });
  }
}

Progress::~Progress() {
  if (state_->painter.joinable()) {
    {
      std::lock_guard lock(state_->mu);
      state_->stop = true;
      if (state_->dirty) state_->redraw();
    }
    state_->cv.notify_all();
    state_->painter.join();
  }
}

size_t Progress::start(const Digest& digest, uint64_t total_bytes, std::string action) {
  std::lock_guard lock(state_->mu);
  State::Line line{digest.str().substr(0, 19), total_bytes, 0, std::move(action)};
  if (state_->mode == ProgressMode::plain) {
    std::fprintf(state_->out, "%s  %s (%s)\n", digest.str().c_str(), line.action.c_str(),
                 format_bytes(total_bytes).c_str());
    std::fflush(state_->out);
  }
  state_->lines.push_back(std::move(line));
  state_->dirty = true;
  return state_->lines.size() - 1;
}

void Progress::advance(size_t id, uint64_t bytes) {
  if (state_->mode != ProgressMode::tty) return;
  std::lock_guard lock(state_->mu);
  state_->lines[id].done += bytes;
  state_->dirty = true;
}

void Progress::finish(size_t id, std::string action) {
  std::lock_guard lock(state_->mu);
  auto& line = state_->lines[id];
  if (line.total > line.done) line.done = line.total;
  line.action = std::move(action);
  state_->dirty = true;
  if (state_->mode == ProgressMode::plain) {
    std::fprintf(state_->out, "%s  %s\n", line.name.c_str(), line.action.c_str());
    std::fflush(state_->out);
  }
}

void Progress::note(const std::string& text) {
  std::lock_guard lock(state_->mu);
  if (state_->mode == ProgressMode::quiet) return;
  if (state_->mode == ProgressMode::tty) state_->redraw();
  std::fprintf(state_->out, "%s\n", text.c_str());
  std::fflush(state_->out);
  if (state_->mode == ProgressMode::tty) {
    state_->drawn = 0;
    state_->first_visible = state_->lines.size();
  }
}

}  // namespace gantry::runtime::registry::transfer
