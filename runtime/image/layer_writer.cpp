#include "runtime/image/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace gantry::runtime::image {

namespace {

constexpr size_t kBufferBytes = 1 << 20;  // sink chunks and file read chunks

Error archive_failure(archive* a, std::string context) {
  const char* text = archive_error_string(a);
  std::string message = context + ": " + (text ? text : "libarchive error");
  int e = archive_errno(a);
  if (e > 0) return Error(kind_from_errno(e), message, e);
  return Error(ErrorKind::internal, message);
}

// The path as a tar member name: directories end with '/'.
std::string member_name(const TarEntry& entry) {
  if (entry.type == EntryType::directory) return entry.path + "/";
  return entry.path;
}

}  // namespace

ByteSink string_sink(std::string& out) {
  return [&out](std::span<const uint8_t> bytes) -> Result<void> {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return ok();
  };
}

ByteSink null_sink() {
  return [](std::span<const uint8_t>) -> Result<void> { return ok(); };
}

struct LayerWriter::Impl {
  archive* a = nullptr;
  archive_entry* entry = nullptr;
  ByteSink sink;
  Sha256 sha;
  std::vector<uint8_t> out;    // bytes not yet given to the sink
  std::vector<uint8_t> chunk;  // file reads
  int64_t total_bytes = 0;
  int64_t entry_count = 0;
  std::optional<Error> failure;  // first error: from the sink, or one that broke the archive
  bool finished = false;

  ~Impl() {
    if (entry) archive_entry_free(entry);
    if (a) archive_write_free(a);
  }

  Result<void> emit(std::span<const uint8_t> bytes) {
    sha.update(bytes);
    total_bytes += static_cast<int64_t>(bytes.size());
    return sink(bytes);
  }

  Result<void> flush() {
    if (out.empty()) return ok();
    auto r = emit(out);
    out.clear();
    return r;
  }

  // libarchive's write callback: buffer small writes (headers), pass large ones through.
  static la_ssize_t on_write(archive*, void* data, const void* buffer, size_t length) {
    auto* self = static_cast<Impl*>(data);
    if (self->failure) return -1;
    auto bytes = std::span<const uint8_t>(static_cast<const uint8_t*>(buffer), length);
    Result<void> r;
    if (length >= kBufferBytes / 2) {
      r = self->flush();
      if (r) r = self->emit(bytes);
    } else {
      if (self->out.size() + length > kBufferBytes) r = self->flush();
      self->out.insert(self->out.end(), bytes.begin(), bytes.end());
    }
    if (!r) {
      self->failure = std::move(r).error().with_context("write layer tar");
      return -1;
    }
    return static_cast<la_ssize_t>(length);
  }

  Result<void> check_usable() const {
    if (failure) return *failure;
    if (finished) return Error(ErrorKind::failed_precondition, "layer writer already finished");
    return ok();
  }

  Result<void> fail(Error e) {
    if (!failure) failure = e;
    return e;
  }

  Result<void> header(const TarEntry& e) {
    GANTRY_TRY(check_usable());
    archive_entry_clear(entry);
    std::string name = member_name(e);
    archive_entry_copy_pathname(entry, name.c_str());
    bool is_marker = e.type == EntryType::whiteout || e.type == EntryType::opaque;
    archive_entry_set_perm(entry, is_marker ? 0 : (e.mode & 07777));
    archive_entry_set_uid(entry, is_marker ? 0 : e.uid);
    archive_entry_set_gid(entry, is_marker ? 0 : e.gid);
    archive_entry_set_mtime(entry, is_marker ? 0 : e.mtime_s, 0);
    bool with_xattrs = false;
    switch (e.type) {
      case EntryType::regular:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, e.size_bytes);
        with_xattrs = true;
        break;
      case EntryType::directory:
        archive_entry_set_filetype(entry, AE_IFDIR);
        with_xattrs = true;
        break;
      case EntryType::symlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_copy_symlink(entry, e.link_target.c_str());
        with_xattrs = true;
        break;
      case EntryType::hardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_copy_hardlink(entry, e.link_target.c_str());
        archive_entry_set_size(entry, 0);
        break;
      case EntryType::fifo:
      case EntryType::char_device:
      case EntryType::block_device:
        archive_entry_set_filetype(entry, e.type == EntryType::fifo          ? AE_IFIFO
                                          : e.type == EntryType::char_device ? AE_IFCHR
                                                                             : AE_IFBLK);
        archive_entry_set_rdevmajor(entry, e.rdev_major);
        archive_entry_set_rdevminor(entry, e.rdev_minor);
        break;
      case EntryType::whiteout:
      case EntryType::opaque:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, 0);
        break;
    }
    if (with_xattrs) {
      for (const auto& [xname, value] : e.xattrs)  // std::map: ascending bytewise
        archive_entry_xattr_add_entry(entry, xname.c_str(), value.data(), value.size());
    }
    if (archive_write_header(a, entry) != ARCHIVE_OK) {
      if (failure) return *failure;
      return fail(archive_failure(a, "write tar header of '" + e.path + "'"));
    }
    ++entry_count;
    return ok();
  }

  Result<void> data(const TarEntry& e, const void* bytes, size_t length) {
    la_ssize_t n = archive_write_data(a, bytes, length);
    if (n < 0 || static_cast<size_t>(n) != length) {
      if (failure) return *failure;
      return fail(archive_failure(a, "write content of '" + e.path + "'"));
    }
    return ok();
  }
};

LayerWriter::LayerWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LayerWriter::~LayerWriter() = default;

Result<std::unique_ptr<LayerWriter>> LayerWriter::open(ByteSink sink) {
  auto impl = std::make_unique<Impl>();
  impl->sink = std::move(sink);
  impl->out.reserve(kBufferBytes);
  impl->a = archive_write_new();
  impl->entry = archive_entry_new();
  if (!impl->a || !impl->entry) return Error(ErrorKind::unavailable, "libarchive: out of memory");
  if (archive_write_set_format_pax_restricted(impl->a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(impl->a, 0) != ARCHIVE_OK)
    return archive_failure(impl->a, "set up layer tar writer");
  if (archive_write_open(impl->a, impl.get(), nullptr, &Impl::on_write, nullptr) != ARCHIVE_OK)
    return archive_failure(impl->a, "open layer tar writer");
  return std::unique_ptr<LayerWriter>(new LayerWriter(std::move(impl)));
}

Result<void> LayerWriter::add(const TarEntry& entry) {
  if (entry.type == EntryType::regular && entry.size_bytes != 0)
    return Error(ErrorKind::invalid_argument,
                 "add '" + entry.path + "': a regular file with content needs add_file");
  return impl_->header(entry);
}

Result<void> LayerWriter::add_file(const TarEntry& entry, std::string_view content) {
  if (entry.type != EntryType::regular || static_cast<size_t>(entry.size_bytes) != content.size())
    return Error(ErrorKind::invalid_argument, "add '" + entry.path + "': not a regular file of " +
                                                  std::to_string(content.size()) + " bytes");
  GANTRY_TRY(impl_->header(entry));
  if (content.empty()) return ok();
  return impl_->data(entry, content.data(), content.size());
}

Result<void> LayerWriter::add_file(const TarEntry& entry, int fd) {
  if (entry.type != EntryType::regular || entry.size_bytes < 0)
    return Error(ErrorKind::invalid_argument, "add '" + entry.path + "': not a regular file");
  GANTRY_TRY(impl_->header(entry));
  auto& chunk = impl_->chunk;
  if (chunk.size() < kBufferBytes) chunk.resize(kBufferBytes);
  int64_t remaining = entry.size_bytes;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining, kBufferBytes));
    ssize_t n = ::read(fd, chunk.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return impl_->fail(errno_error(errno, "read '" + entry.path + "'"));
    if (n == 0)
      return impl_->fail(
          Error(ErrorKind::conflict, "read '" + entry.path + "': file shrank while being written"));
    GANTRY_TRY(impl_->data(entry, chunk.data(), static_cast<size_t>(n)));
    remaining -= n;
  }
  char probe;
  ssize_t extra;
  do extra = ::read(fd, &probe, 1);
  while (extra < 0 && errno == EINTR);
  if (extra > 0)
    return impl_->fail(
        Error(ErrorKind::conflict, "read '" + entry.path + "': file grew while being written"));
  return ok();
}

Result<WrittenLayer> LayerWriter::finish() {
  GANTRY_TRY(impl_->check_usable());
  impl_->finished = true;
  if (archive_write_close(impl_->a) != ARCHIVE_OK) {
    if (impl_->failure) return *impl_->failure;
    return archive_failure(impl_->a, "finish layer tar");
  }
  if (impl_->failure) return *impl_->failure;
  GANTRY_TRY(impl_->flush());
  WrittenLayer out;
  out.diff_id = impl_->sha.finish();
  out.size_bytes = impl_->total_bytes;
  out.entry_count = impl_->entry_count;
  return out;
}

// ---- reading ----

namespace {

struct ReadArchive {
  archive* a = archive_read_new();
  ~ReadArchive() {
    if (a) archive_read_free(a);
  }
};

EntryType type_of(archive_entry* e, std::string_view path) {
  if (archive_entry_hardlink(e) != nullptr) return EntryType::hardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      return EntryType::directory;
    case AE_IFLNK:
      return EntryType::symlink;
    case AE_IFIFO:
      return EntryType::fifo;
    case AE_IFCHR:
      return EntryType::char_device;
    case AE_IFBLK:
      return EntryType::block_device;
    default:
      break;
  }
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base == kOpaqueName) return EntryType::opaque;
  if (base.substr(0, kWhiteoutPrefix.size()) == kWhiteoutPrefix) return EntryType::whiteout;
  return EntryType::regular;
}

Result<std::vector<TarMember>> read_all(archive* a, int64_t max_content_bytes) {
  std::vector<TarMember> members;
  archive_entry* e = nullptr;
  std::vector<char> buf(1 << 16);
  while (true) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return archive_failure(
          a, "read tar header after " + std::to_string(members.size()) + " entries");
    TarMember m;
    const char* name = archive_entry_pathname(e);
    std::string path = name ? name : "";
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    m.entry.type = type_of(e, path);
    m.entry.path = std::move(path);
    m.entry.mode = archive_entry_perm(e) & 07777;
    m.entry.uid = static_cast<uint32_t>(archive_entry_uid(e));
    m.entry.gid = static_cast<uint32_t>(archive_entry_gid(e));
    m.entry.mtime_s = archive_entry_mtime(e);
    if (m.entry.type == EntryType::regular) m.entry.size_bytes = archive_entry_size(e);
    if (m.entry.type == EntryType::symlink) {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr || *target == '\0') {
        return Error(ErrorKind::invalid_argument,
                     "tar entry '" + m.entry.path + "': symlink without a target");
      }
      m.entry.link_target = target;
    }
    if (m.entry.type == EntryType::hardlink) m.entry.link_target = archive_entry_hardlink(e);
    if (m.entry.type == EntryType::char_device || m.entry.type == EntryType::block_device) {
      m.entry.rdev_major = archive_entry_rdevmajor(e);
      m.entry.rdev_minor = archive_entry_rdevminor(e);
    }
    archive_entry_xattr_reset(e);
    const char* xname;
    const void* xvalue;
    size_t xsize;
    while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK)
      m.entry.xattrs[xname] = std::string(static_cast<const char*>(xvalue), xsize);
    drop_encoded_xattr_twins(m.entry.xattrs);
    if (m.entry.type == EntryType::regular) {
      m.content_kept = m.entry.size_bytes <= max_content_bytes;
      while (true) {
        la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
        if (n < 0) return archive_failure(a, "read content of '" + m.entry.path + "'");
        if (n == 0) break;
        if (m.content_kept) m.content.append(buf.data(), static_cast<size_t>(n));
      }
    }
    members.push_back(std::move(m));
  }
  return members;
}

}  // namespace

Result<std::vector<TarMember>> read_tar_entries(std::span<const uint8_t> tar,
                                                int64_t max_content_bytes) {
  ReadArchive ra;
  if (!ra.a) return Error(ErrorKind::unavailable, "libarchive: out of memory");
  archive_read_support_format_tar(ra.a);
  if (archive_read_open_memory(ra.a, tar.data(), tar.size()) != ARCHIVE_OK)
    return archive_failure(ra.a, "open tar in memory");
  return read_all(ra.a, max_content_bytes);
}

Result<std::vector<TarMember>> read_tar_entries(std::string_view tar, int64_t max_content_bytes) {
  return read_tar_entries(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(tar.data()), tar.size()),
      max_content_bytes);
}

Result<std::vector<TarMember>> read_tar_entries_fd(int fd, int64_t max_content_bytes) {
  ReadArchive ra;
  if (!ra.a) return Error(ErrorKind::unavailable, "libarchive: out of memory");
  archive_read_support_format_tar(ra.a);
  if (archive_read_open_fd(ra.a, fd, 1 << 16) != ARCHIVE_OK)
    return archive_failure(ra.a, "open tar from fd " + std::to_string(fd));
  return read_all(ra.a, max_content_bytes);
}

}  // namespace gantry::runtime::image
