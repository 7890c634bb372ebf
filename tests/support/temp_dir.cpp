#include "tests/support/temp_dir.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace gantry::testing {

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl);
  path_ = buf.data();
}

void remove_tree_with_mounts(const std::filesystem::path& dir) {
  std::vector<std::string> mounts;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  std::string prefix = dir.string() + "/";
  while (std::getline(mi, line)) {
    // field 5 is the mount point
    size_t pos = 0;
    for (int i = 0; i < 4 && pos != std::string::npos; ++i) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    size_t end = line.find(' ', pos + 1);
    std::string mp = line.substr(pos + 1, end - pos - 1);
    if (mp.rfind(prefix, 0) == 0) mounts.push_back(mp);
  }
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TempDir::~TempDir() {
  remove_tree_with_mounts(path_);
}

}  // namespace gantry::testing
