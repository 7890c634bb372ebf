#include "runtime/fuse/layer_stack.h"

#include <fcntl.h>
#include <sys/xattr.h>

#include <cerrno>

namespace gantry::runtime::fuse {

Result<LayerStack> LayerStack::open(const std::optional<std::filesystem::path>& upper,
                                    const std::vector<std::filesystem::path>& lowers) {
  LayerStack s;
  auto open_dir = [](const std::filesystem::path& p,
                     std::string_view what) -> Result<sys::UniqueFd> {
    int fd = ::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, std::string(what) + " '" + p.string() + "'");
    return sys::UniqueFd(fd);
  };
  if (upper) {
    GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, open_dir(*upper, "upperdir"));
    s.fds_.push_back(std::move(fd));
    s.roots_.push_back(std::filesystem::absolute(*upper).lexically_normal().string());
  } else {
    s.fds_.emplace_back();
    s.roots_.emplace_back();
  }
  for (const auto& l : lowers) {
    GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, open_dir(l, "lowerdir"));
    s.fds_.push_back(std::move(fd));
    s.roots_.push_back(std::filesystem::absolute(l).lexically_normal().string());
  }
  return s;
}

std::string LayerStack::absolute(int layer, const std::string& rel) const {
  return rel.empty() ? roots_[layer] : roots_[layer] + "/" + rel;
}

bool LayerStack::is_opaque(int layer, const std::string& rel) const {
  char v[4];
  ssize_t n = ::lgetxattr(absolute(layer, rel).c_str(), kOpaqueXattr, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

std::vector<int> LayerStack::root_dir_layers() const {
  std::vector<int> out;
  for (int l = has_upper() ? 0 : 1; l < count(); ++l) {
    out.push_back(l);
    if (is_opaque(l, "")) break;
  }
  return out;
}

Resolved LayerStack::resolve(const std::vector<int>& parent_dir_layers, const std::string& rel,
                             size_t from) const {
  Resolved r;
  for (size_t i = from; i < parent_dir_layers.size(); ++i) {
    int l = parent_dir_layers[i];
    struct stat st;
    if (::fstatat(fds_[l].get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (is_whiteout(st)) {
      r.whiteout_seen = true;
      break;
    }
    if (!r.exists) {
      r.exists = true;
      r.layer = l;
      r.st = st;
      if (!S_ISDIR(st.st_mode)) break;
      r.dir_layers.push_back(l);
      if (is_opaque(l, rel)) break;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) break;
    r.dir_layers.push_back(l);
    if (is_opaque(l, rel)) break;
  }
  return r;
}

}  // namespace gantry::runtime::fuse
