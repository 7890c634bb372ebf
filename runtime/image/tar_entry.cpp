#include "runtime/image/tar_entry.h"

#include <algorithm>
#include <ostream>

namespace gantry::runtime::image {

std::string_view to_string(EntryType type) {
  switch (type) {
    case EntryType::regular:
      return "regular";
    case EntryType::directory:
      return "directory";
    case EntryType::symlink:
      return "symlink";
    case EntryType::hardlink:
      return "hardlink";
    case EntryType::fifo:
      return "fifo";
    case EntryType::char_device:
      return "char_device";
    case EntryType::block_device:
      return "block_device";
    case EntryType::whiteout:
      return "whiteout";
    case EntryType::opaque:
      return "opaque";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, EntryType type) {
  return os << to_string(type);
}

std::string_view parent_path(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

static std::string join(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  if (!dir.empty()) out.append(dir).push_back('/');
  out.append(name);
  return out;
}

TarEntry whiteout_entry(std::string_view deleted_path) {
  size_t slash = deleted_path.rfind('/');
  std::string_view base =
      slash == std::string_view::npos ? deleted_path : deleted_path.substr(slash + 1);
  TarEntry e;
  e.path = join(parent_path(deleted_path), std::string(kWhiteoutPrefix) + std::string(base));
  e.type = EntryType::whiteout;
  return e;
}

TarEntry opaque_entry(std::string_view dir) {
  TarEntry e;
  e.path = join(dir, kOpaqueName);
  e.type = EntryType::opaque;
  return e;
}

std::string whiteout_target(const TarEntry& entry) {
  if (entry.type != EntryType::whiteout) return entry.path;
  std::string_view p = entry.path;
  size_t slash = p.rfind('/');
  std::string_view base = slash == std::string_view::npos ? p : p.substr(slash + 1);
  if (base.substr(0, kWhiteoutPrefix.size()) != kWhiteoutPrefix) return entry.path;
  return join(parent_path(p), base.substr(kWhiteoutPrefix.size()));
}

bool canonical_less(std::string_view a, std::string_view b) {
  // '/' sorts before every other byte, which makes a bytewise comparison component-wise.
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

std::string describe(const TarEntry& e) {
  std::string s = std::string(to_string(e.type)) + " " + e.path;
  s += " mode=" + std::to_string(e.mode) + " uid=" + std::to_string(e.uid) +
       " gid=" + std::to_string(e.gid) + " mtime=" + std::to_string(e.mtime_s);
  if (e.type == EntryType::regular) s += " size=" + std::to_string(e.size_bytes);
  if (!e.link_target.empty()) s += " -> " + e.link_target;
  if (e.type == EntryType::char_device || e.type == EntryType::block_device)
    s += " rdev=" + std::to_string(e.rdev_major) + ":" + std::to_string(e.rdev_minor);
  for (const auto& [k, v] : e.xattrs) s += " " + k + "=" + v;
  return s;
}

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}
}  // namespace

void drop_encoded_xattr_twins(std::map<std::string, std::string>& xattrs) {
  for (auto it = xattrs.begin(); it != xattrs.end();) {
    if (it->first.find('%') != std::string::npos) {
      std::string decoded = url_decode(it->first);
      if (decoded != it->first && xattrs.count(decoded) != 0) {
        it = xattrs.erase(it);
        continue;
      }
    }
    ++it;
  }
}

}  // namespace gantry::runtime::image
