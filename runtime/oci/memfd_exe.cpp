#include "runtime/oci/memfd_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/sys/fs.h"

namespace gantry::runtime::oci {

namespace {

constexpr int kAllSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

bool read_exact(int fd, void* buf, size_t size, off_t offset) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

// The length of the file the loader needs: the end of the last program segment (and of the
// program header table). 0 when the file is not a 64-bit ELF we understand: copy it whole.
uint64_t loadable_size(int fd, Elf64_Ehdr& header) {
  if (!read_exact(fd, &header, sizeof header, 0)) return 0;
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0) {
    return 0;
  }
  std::vector<Elf64_Phdr> phdrs(header.e_phnum);
  if (!read_exact(fd, phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr),
                  static_cast<off_t>(header.e_phoff))) {
    return 0;
  }
  uint64_t end = header.e_phoff + phdrs.size() * sizeof(Elf64_Phdr);
  for (const auto& ph : phdrs) end = std::max<uint64_t>(end, ph.p_offset + ph.p_filesz);
  return end;
}

Result<void> copy_range(int from, int to, uint64_t size) {
  off_t offset = 0;
  while (static_cast<uint64_t>(offset) < size) {
    ssize_t n = ::sendfile(to, from, &offset, size - static_cast<uint64_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "copy /proc/self/exe");
    if (n == 0) return Error(ErrorKind::internal, "copy /proc/self/exe: short file");
  }
  return ok();
}

constexpr long kOverlayfsMagic = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC

// The id of the mount fd lives on (the "mnt_id:" line of /proc/self/fdinfo/<fd>); -1 if unknown.
long mount_id_of(int fd) {
  std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  sys::UniqueFd info(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!info) return -1;
  auto text = sys::read_all(info.get(), 1 << 16);
  if (!text) return -1;
  auto at = text->find("mnt_id:");
  if (at == std::string::npos) return -1;
  return std::strtol(text->c_str() + at + 7, nullptr, 10);
}

// Whether a mount with this id is in our mount namespace (a line of /proc/self/mountinfo starts
// with it). Unknown counts as attached: the caller then protects itself again.
bool mount_attached(long id) {
  sys::UniqueFd fd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!fd) return true;
  auto text = sys::read_all(fd.get(), 64 << 20);
  if (!text) return true;
  std::string want = std::to_string(id) + " ";
  size_t pos = 0;
  while (pos < text->size()) {
    if (text->compare(pos, want.size(), want) == 0) return true;
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return false;
}

// overlayfs separates lower layers with ':' and escapes with '\\'.
std::string escape_layer(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '\\' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

bool running_from_private_readonly_view() {
  sys::UniqueFd fd(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
  if (!fd) return false;
  struct statfs fs {};
  if (::fstatfs(fd.get(), &fs) != 0 || fs.f_type != kOverlayfsMagic) return false;
  struct statvfs vfs {};
  if (::fstatvfs(fd.get(), &vfs) != 0 || (vfs.f_flag & ST_RDONLY) == 0) return false;
  long id = mount_id_of(fd.get());
  return id >= 0 && !mount_attached(id);
}

Result<sys::UniqueFd> readonly_view_of_self(const std::filesystem::path& empty_dir,
                                            sys::UniqueFd* mount) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return errno_error(ec.value(), "readlink /proc/self/exe");
  const std::string& text = self.native();
  if (!self.is_absolute() || text.ends_with(" (deleted)"))
    return Error(ErrorKind::failed_precondition,
                 "/proc/self/exe is not a file on a mounted file system: '" + text + "'");
  // A fresh empty directory per call, removed again once the overlay holds it as a layer.
  std::string layer_template = empty_dir.string() + ".XXXXXX";
  if (::mkdtemp(layer_template.data()) == nullptr)
    return errno_error(errno, "mkdtemp '" + layer_template + "'");
  struct RemoveLayer {
    const std::string& path;
    ~RemoveLayer() { ::rmdir(path.c_str()); }
  } remove_layer{layer_template};
  const std::filesystem::path layer_dir = layer_template;

  sys::UniqueFd ctx(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!ctx) return errno_error(errno, "fsopen overlay");
  std::string lower =
      escape_layer(self.parent_path().string()) + ":" + escape_layer(layer_dir.string());
  if (::fsconfig(ctx.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) != 0)
    return errno_error(errno, "overlay lowerdir=" + lower);
  // Inode number remapping is of no use here and only logs to the kernel log when refused.
  (void)::fsconfig(ctx.get(), FSCONFIG_SET_STRING, "xino", "off", 0);
  if (::fsconfig(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return errno_error(errno, "create the overlay (lowerdir=" + lower + ")");
  sys::UniqueFd mnt(::fsmount(ctx.get(), FSMOUNT_CLOEXEC,
                              MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mnt) return errno_error(errno, "fsmount the overlay");
  std::string name = self.filename().string();
  sys::UniqueFd exe(::openat(mnt.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!exe) return errno_error(errno, "open '" + name + "' in the overlay");
  struct stat seen {
  }, real{};
  if (::fstat(exe.get(), &seen) != 0 || ::stat("/proc/self/exe", &real) != 0 ||
      !S_ISREG(seen.st_mode) || seen.st_size != real.st_size)
    return Error(ErrorKind::failed_precondition,
                 "the overlay's '" + name + "' is not this program's binary");
  if (mount) *mount = std::move(mnt);
  return exe;
}

bool running_from_sealed_memfd() {
  sys::UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  return seals >= 0 && (seals & kAllSeals) == kAllSeals;
}

Result<sys::UniqueFd> sealed_copy_of_self() {
  sys::UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return errno_error(errno, "open /proc/self/exe");
  struct stat st {};
  if (::fstat(self.get(), &st) != 0) return errno_error(errno, "stat /proc/self/exe");
  Elf64_Ehdr header{};
  uint64_t size = loadable_size(self.get(), header);
  bool trimmed = size > 0 && size < static_cast<uint64_t>(st.st_size);
  if (!trimmed) size = static_cast<uint64_t>(st.st_size);

  sys::UniqueFd memfd(::memfd_create("gantry-oci", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd) return errno_error(errno, "memfd_create");
  if (::ftruncate(memfd.get(), static_cast<off_t>(size)) != 0) {
    return errno_error(errno, "size the memfd copy");
  }
  GANTRY_TRY(copy_range(self.get(), memfd.get(), size));
  if (trimmed) {
    // The section headers were cut off: say there are none (the loader never reads them).
    header.e_shoff = 0;
    header.e_shnum = 0;
    header.e_shstrndx = SHN_UNDEF;
    GANTRY_TRY_CTX(
        sys::pwrite_all(memfd.get(),
                        std::span(reinterpret_cast<const uint8_t*>(&header), sizeof header), 0),
        "patch the memfd copy");
  }
  if (::fcntl(memfd.get(), F_ADD_SEALS, kAllSeals) != 0) {
    return errno_error(errno, "seal the memfd copy");
  }
  return memfd;
}

Result<void> ensure_running_from_sealed_copy(char* const* argv, char* const* envp,
                                             const std::filesystem::path& empty_dir,
                                             const std::function<void()>& before_exec) {
  if (running_from_sealed_memfd() || running_from_private_readonly_view()) return ok();
  bool before_done = false;
  auto before = [&] {
    if (before_exec && !before_done) before_exec();
    before_done = true;
  };
  auto env = [&] { return envp ? envp : environ; };
  sys::UniqueFd mount;
  if (auto view = readonly_view_of_self(empty_dir, &mount)) {
    before();
    // Close-on-exec as well; closed here first so that a failed exec leaves nothing behind.
    mount.reset();
    ::execveat(view->get(), "", argv, env(), AT_EMPTY_PATH);
    // Falls back to the copy (e.g. a file system overlayfs refuses as a layer).
  }
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd copy, sealed_copy_of_self());
  before();
  ::fexecve(copy.get(), argv, env());
  return errno_error(errno, "re-execute from the sealed copy");
}

}  // namespace gantry::runtime::oci
