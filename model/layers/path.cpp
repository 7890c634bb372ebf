#include "model/layers/path.h"

namespace gantry::model::layers {

int compare_paths(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    // '/' acts as the smallest byte: it ends a component.
    unsigned char ca = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char cb = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

Result<void> check_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorKind::invalid_argument,
                 "path '" + std::string(path) + "': " + std::string(why));
  };
  if (path.empty()) return bad("empty");
  if (path.find('\0') != std::string_view::npos) return bad("holds a NUL byte");
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view comp =
        path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (comp.empty()) return bad("empty component (leading, trailing or double '/')");
    if (comp == "." || comp == "..") return bad("'.' or '..' component");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return ok();
}

std::string_view parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view base_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_ancestor(std::string_view ancestor, std::string_view path) {
  if (ancestor.empty()) return !path.empty();
  return path.size() > ancestor.size() && path.starts_with(ancestor) &&
         path[ancestor.size()] == '/';
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir).append("/").append(name);
  return out;
}

}  // namespace gantry::model::layers
