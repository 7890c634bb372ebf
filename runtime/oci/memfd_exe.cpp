#include "runtime/oci/memfd_exe.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

}  // namespace

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

Result<void> ensure_running_from_sealed_copy(char* const* argv, char* const* envp) {
  if (running_from_sealed_memfd()) return ok();
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd copy, sealed_copy_of_self());
  ::fexecve(copy.get(), argv, envp);
  return errno_error(errno, "re-execute from the sealed copy");
}

}  // namespace gantry::runtime::oci
