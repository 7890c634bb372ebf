#include "runtime/image/compression.h"

#include <isa-l.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "runtime/sys/fs.h"

namespace gantry::runtime::image {

namespace {

constexpr size_t kInBufBytes = 256 << 10;
constexpr size_t kOutBufBytes = 256 << 10;

Error corrupt(Compression c, const std::string& why) {
  return Error(ErrorKind::invalid_argument, std::string(to_string(c)) + " stream: " + why);
}

bool is_gzip_magic(std::span<const uint8_t> b) {
  return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

// One decoding step: consume from in, produce into out.
struct Step {
  size_t consumed = 0;
  size_t produced = 0;
  bool stream_end = false;  // a member / frame ended exactly here
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual Result<Step> step(std::span<const uint8_t> in, std::span<uint8_t> out) = 0;
  // Called when more input follows a finished member/frame; false: that input is not a
  // continuation (trailing garbage).
  virtual Result<void> restart(std::span<const uint8_t> next) = 0;
  // True when the stream may end here (not inside a member/frame).
  virtual bool at_boundary() const = 0;
};

class RawDecoder final : public Decoder {
 public:
  Result<Step> step(std::span<const uint8_t> in, std::span<uint8_t> out) override {
    size_t n = std::min(in.size(), out.size());
    if (n > 0) std::memcpy(out.data(), in.data(), n);
    return Step{n, n, false};
  }
  Result<void> restart(std::span<const uint8_t>) override { return ok(); }
  bool at_boundary() const override { return true; }
};

class GzipDecoder final : public Decoder {
 public:
  GzipDecoder() { reset(); }
  void reset() {
    isal_inflate_init(&st_);
    st_.crc_flag = ISAL_GZIP;
    started_ = false;
    finished_ = false;
  }
  Result<Step> step(std::span<const uint8_t> in, std::span<uint8_t> out) override {
    Step s;
    if (finished_) return s;
    uint32_t in_n = static_cast<uint32_t>(std::min<size_t>(in.size(), 1u << 30));
    uint32_t out_n = static_cast<uint32_t>(std::min<size_t>(out.size(), 1u << 30));
    st_.next_in = const_cast<uint8_t*>(in.data());
    st_.avail_in = in_n;
    st_.next_out = out.data();
    st_.avail_out = out_n;
    int rc = isal_inflate(&st_);
    if (rc < 0) return corrupt(Compression::gzip, "inflate error " + std::to_string(rc));
    s.consumed = in_n - st_.avail_in;
    s.produced = out_n - st_.avail_out;
    if (s.consumed || s.produced) started_ = true;
    if (st_.block_state == ISAL_BLOCK_FINISH) {
      finished_ = true;
      s.stream_end = true;
    }
    return s;
  }
  Result<void> restart(std::span<const uint8_t> next) override {
    if (!is_gzip_magic(next) && next.size() >= 2) {
      return corrupt(Compression::gzip, "trailing data after the end of the stream");
    }
    if (next.size() < 2 && !next.empty() && next[0] != 0x1f) {
      return corrupt(Compression::gzip, "trailing data after the end of the stream");
    }
    reset();
    return ok();
  }
  bool at_boundary() const override { return finished_; }

 private:
  inflate_state st_{};
  bool started_ = false;
  bool finished_ = false;
};

class ZstdDecoder final : public Decoder {
 public:
  ZstdDecoder() : ds_(ZSTD_createDStream()) { ZSTD_initDStream(ds_); }
  ~ZstdDecoder() override { ZSTD_freeDStream(ds_); }
  Result<Step> step(std::span<const uint8_t> in, std::span<uint8_t> out) override {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    size_t rc = ZSTD_decompressStream(ds_, &ob, &ib);
    if (ZSTD_isError(rc)) return corrupt(Compression::zstd, ZSTD_getErrorName(rc));
    // A call that moved nothing (the input ended) says nothing new about frame boundaries.
    if (ib.pos || ob.pos) boundary_ = rc == 0;
    return Step{ib.pos, ob.pos, false};
  }
  Result<void> restart(std::span<const uint8_t>) override { return ok(); }
  bool at_boundary() const override { return boundary_; }

 private:
  ZSTD_DStream* ds_;
  bool boundary_ = true;
};

}  // namespace

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
  }
  return "none";
}

Compression detect_compression(std::span<const uint8_t> head) {
  if (is_gzip_magic(head)) return Compression::gzip;
  if (head.size() >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f &&
      head[3] == 0xfd) {
    return Compression::zstd;
  }
  return Compression::none;
}

Result<size_t> FdSource::read(std::span<uint8_t> buf) {
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return errno_error(errno, "read");
  }
}

Result<size_t> BytesSource::read(std::span<uint8_t> buf) {
  size_t n = std::min(buf.size(), bytes_.size());
  std::memcpy(buf.data(), bytes_.data(), n);
  bytes_.remove_prefix(n);
  return n;
}

Result<void> FdSink::write(std::span<const uint8_t> data) {
  return sys::write_all(fd_, data);
}

Result<void> StringSink::write(std::span<const uint8_t> data) {
  bytes_.append(reinterpret_cast<const char*>(data.data()), data.size());
  return ok();
}

// ---- decompression ----

struct DecompressingSource::Impl {
  Source* inner = nullptr;
  DecompressOptions options;
  Compression compression = Compression::none;
  std::unique_ptr<Decoder> decoder;
  std::vector<uint8_t> in = std::vector<uint8_t>(kInBufBytes);
  size_t in_pos = 0, in_len = 0;
  bool inner_eof = false;
  bool finished = false;
  uint64_t in_total = 0, out_total = 0;
  Sha256 in_hash, out_hash;

  // Pulls more compressed bytes when the buffer is used up; false at the inner end.
  Result<bool> fill() {
    if (in_pos < in_len) return true;
    if (inner_eof) return false;
    GANTRY_ASSIGN_OR_RETURN(size_t n, inner->read(std::span(in.data(), in.size())));
    in_pos = 0;
    in_len = n;
    if (n == 0) {
      inner_eof = true;
      return false;
    }
    if (options.hash_compressed) in_hash.update(std::span<const uint8_t>(in.data(), n));
    in_total += n;
    return true;
  }

  Result<void> check_bounds() const {
    if (options.max_expanded_bytes && out_total > options.max_expanded_bytes) {
      return Error(ErrorKind::invalid_argument, "layer expands beyond the bound of " +
                                                    std::to_string(options.max_expanded_bytes) +
                                                    " bytes");
    }
    if (options.max_ratio && out_total > options.ratio_grace_bytes &&
        out_total / std::max<uint64_t>(in_total, 1) > options.max_ratio) {
      return Error(ErrorKind::invalid_argument,
                   "layer expands more than " + std::to_string(options.max_ratio) +
                       " times its compressed size (" + std::to_string(out_total) + " bytes from " +
                       std::to_string(in_total) + ")");
    }
    return ok();
  }

  Result<size_t> read(std::span<uint8_t> out) {
    if (finished || out.empty()) return size_t{0};
    for (;;) {
      GANTRY_ASSIGN_OR_RETURN(bool have, fill());
      if (!have) {
        // No more input. Let the decoder flush what it holds.
        GANTRY_ASSIGN_OR_RETURN(Step s, decoder->step({}, out));
        if (s.produced) return produced(out, s.produced);
        if (!decoder->at_boundary()) return corrupt(compression, "truncated");
        finished = true;
        return size_t{0};
      }
      std::span<const uint8_t> avail(in.data() + in_pos, in_len - in_pos);
      if (decoder->at_boundary() && compression == Compression::gzip) {
        GANTRY_TRY(decoder->restart(avail));
      }
      GANTRY_ASSIGN_OR_RETURN(Step s, decoder->step(avail, out));
      in_pos += s.consumed;
      if (s.produced) return produced(out, s.produced);
      if (s.consumed == 0 && !s.stream_end) {
        // The decoder wants more than is buffered: move the rest to the front and read on.
        if (in_len - in_pos == in.size()) return corrupt(compression, "decoder made no progress");
        std::memmove(in.data(), in.data() + in_pos, in_len - in_pos);
        in_len -= in_pos;
        in_pos = 0;
        GANTRY_ASSIGN_OR_RETURN(size_t n,
                                inner->read(std::span(in.data() + in_len, in.size() - in_len)));
        if (n == 0) {
          inner_eof = true;
          return corrupt(compression, "truncated");
        }
        if (options.hash_compressed)
          in_hash.update(std::span<const uint8_t>(in.data() + in_len, n));
        in_total += n;
        in_len += n;
      }
    }
  }

  Result<size_t> produced(std::span<uint8_t> out, size_t n) {
    out_total += n;
    if (options.hash_uncompressed) out_hash.update(std::span<const uint8_t>(out.data(), n));
    GANTRY_TRY(check_bounds());
    return n;
  }
};

DecompressingSource::DecompressingSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecompressingSource::~DecompressingSource() = default;

Result<std::unique_ptr<DecompressingSource>> DecompressingSource::open(Source& inner,
                                                                       DecompressOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->inner = &inner;
  impl->options = options;
  // Read at least 4 bytes (or to the end) to see the magic.
  while (impl->in_len < 4 && !impl->inner_eof) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, inner.read(std::span(impl->in.data() + impl->in_len,
                                                           impl->in.size() - impl->in_len)));
    if (n == 0) impl->inner_eof = true;
    if (options.hash_compressed)
      impl->in_hash.update(std::span<const uint8_t>(impl->in.data() + impl->in_len, n));
    impl->in_total += n;
    impl->in_len += n;
  }
  impl->compression = options.compression.value_or(
      detect_compression(std::span<const uint8_t>(impl->in.data(), impl->in_len)));
  switch (impl->compression) {
    case Compression::none:
      impl->decoder = std::make_unique<RawDecoder>();
      break;
    case Compression::gzip:
      impl->decoder = std::make_unique<GzipDecoder>();
      break;
    case Compression::zstd:
      impl->decoder = std::make_unique<ZstdDecoder>();
      break;
  }
  if (impl->compression != Compression::none && impl->in_len == 0) {
    return corrupt(impl->compression, "empty");
  }
  return std::unique_ptr<DecompressingSource>(new DecompressingSource(std::move(impl)));
}

Result<size_t> DecompressingSource::read(std::span<uint8_t> buf) {
  return impl_->read(buf);
}

Result<void> DecompressingSource::drain() {
  std::vector<uint8_t> buf(kOutBufBytes);
  for (;;) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, read(std::span(buf)));
    if (n == 0) return ok();
  }
}

Compression DecompressingSource::compression() const {
  return impl_->compression;
}
bool DecompressingSource::finished() const {
  return impl_->finished;
}
uint64_t DecompressingSource::compressed_bytes() const {
  return impl_->in_total;
}
uint64_t DecompressingSource::uncompressed_bytes() const {
  return impl_->out_total;
}
Digest DecompressingSource::compressed_digest() {
  return impl_->in_hash.finish();
}
Digest DecompressingSource::uncompressed_digest() {
  return impl_->out_hash.finish();
}

// ---- compression ----

namespace {

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Compresses in (all of it) and, when finish, ends the stream; emits via the callback.
  virtual Result<void> put(std::span<const uint8_t> in, bool finish,
                           const std::function<Result<void>(std::span<const uint8_t>)>& emit) = 0;
};

class RawEncoder final : public Encoder {
 public:
  Result<void> put(std::span<const uint8_t> in, bool,
                   const std::function<Result<void>(std::span<const uint8_t>)>& emit) override {
    if (in.empty()) return ok();
    return emit(in);
  }
};

class GzipEncoder final : public Encoder {
 public:
  explicit GzipEncoder(int level) {
    int rc = deflateInit2(&z_, level == 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, 15 + 16, 8,
                          Z_DEFAULT_STRATEGY);
    ok_ = rc == Z_OK;
  }
  ~GzipEncoder() override { deflateEnd(&z_); }
  bool ok() const { return ok_; }
  Result<void> put(std::span<const uint8_t> in, bool finish,
                   const std::function<Result<void>(std::span<const uint8_t>)>& emit) override {
    z_.next_in = const_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      z_.next_out = out_.data();
      z_.avail_out = static_cast<uInt>(out_.size());
      int rc = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) return Error(ErrorKind::internal, "gzip: deflate failed");
      size_t n = out_.size() - z_.avail_out;
      if (n) GANTRY_TRY(emit(std::span<const uint8_t>(out_.data(), n)));
      if (finish ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) return {};
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
  std::vector<uint8_t> out_ = std::vector<uint8_t>(kOutBufBytes);
};

class ZstdEncoder final : public Encoder {
 public:
  explicit ZstdEncoder(int level) : cs_(ZSTD_createCCtx()) {
    ZSTD_CCtx_setParameter(cs_, ZSTD_c_compressionLevel, level == 0 ? 3 : level);
    ZSTD_CCtx_setParameter(cs_, ZSTD_c_checksumFlag, 1);
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(cs_); }
  Result<void> put(std::span<const uint8_t> in, bool finish,
                   const std::function<Result<void>(std::span<const uint8_t>)>& emit) override {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (;;) {
      ZSTD_outBuffer ob{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_compressStream2(cs_, &ob, &ib, finish ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rc)) {
        return Error(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(rc));
      }
      if (ob.pos) GANTRY_TRY(emit(std::span<const uint8_t>(out_.data(), ob.pos)));
      if (finish ? rc == 0 : ib.pos == ib.size) return {};
    }
  }

 private:
  ZSTD_CCtx* cs_;
  std::vector<uint8_t> out_ = std::vector<uint8_t>(kOutBufBytes);
};

}  // namespace

struct CompressingSink::Impl {
  Sink* inner = nullptr;
  std::unique_ptr<Encoder> encoder;
  uint64_t in_total = 0, out_total = 0;
  Sha256 in_hash, out_hash;
  bool closed = false;
  std::function<Result<void>(std::span<const uint8_t>)> emit;
};

CompressingSink::CompressingSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompressingSink::~CompressingSink() = default;

Result<std::unique_ptr<CompressingSink>> CompressingSink::open(Sink& inner,
                                                               CompressOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->inner = &inner;
  switch (options.compression) {
    case Compression::none:
      impl->encoder = std::make_unique<RawEncoder>();
      break;
    case Compression::gzip: {
      if (options.level < 0 || options.level > 9) {
        return Error(ErrorKind::invalid_argument,
                     "gzip level " + std::to_string(options.level) + ": want 1 to 9");
      }
      auto g = std::make_unique<GzipEncoder>(options.level);
      if (!g->ok()) return Error(ErrorKind::internal, "gzip: deflateInit2 failed");
      impl->encoder = std::move(g);
      break;
    }
    case Compression::zstd: {
      if (options.level < 0 || options.level > ZSTD_maxCLevel()) {
        return Error(ErrorKind::invalid_argument, "zstd level " + std::to_string(options.level) +
                                                      ": want 1 to " +
                                                      std::to_string(ZSTD_maxCLevel()));
      }
      impl->encoder = std::make_unique<ZstdEncoder>(options.level);
      break;
    }
  }
  Impl* raw = impl.get();
  impl->emit = [raw](std::span<const uint8_t> out) -> Result<void> {
    raw->out_total += out.size();
    raw->out_hash.update(out);
    return raw->inner->write(out);
  };
  return std::unique_ptr<CompressingSink>(new CompressingSink(std::move(impl)));
}

Result<void> CompressingSink::write(std::span<const uint8_t> data) {
  assert(!impl_->closed);
  impl_->in_total += data.size();
  impl_->in_hash.update(data);
  return impl_->encoder->put(data, false, impl_->emit);
}

Result<void> CompressingSink::close() {
  if (impl_->closed) return ok();
  impl_->closed = true;
  GANTRY_TRY(impl_->encoder->put({}, true, impl_->emit));
  return impl_->inner->close();
}

uint64_t CompressingSink::compressed_bytes() const {
  return impl_->out_total;
}
uint64_t CompressingSink::uncompressed_bytes() const {
  return impl_->in_total;
}
Digest CompressingSink::compressed_digest() {
  return impl_->out_hash.finish();
}
Digest CompressingSink::uncompressed_digest() {
  return impl_->in_hash.finish();
}

Result<std::string> compress_bytes(std::string_view data, CompressOptions options) {
  StringSink out;
  GANTRY_ASSIGN_OR_RETURN(auto sink, CompressingSink::open(out, options));
  GANTRY_TRY(sink->write(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size())));
  GANTRY_TRY(sink->close());
  return std::move(out.str());
}

Result<std::string> decompress_bytes(std::string_view data, DecompressOptions options) {
  BytesSource in(data);
  GANTRY_ASSIGN_OR_RETURN(auto src, DecompressingSource::open(in, options));
  std::string out;
  std::vector<uint8_t> buf(kOutBufBytes);
  for (;;) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, src->read(std::span(buf)));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

}  // namespace gantry::runtime::image
