#include "model/layers/canonical_tar.h"

#include <algorithm>
#include <cstring>

namespace gantry::model::layers {

namespace {

// ustar header layout: offset and width of each field.
constexpr size_t kBlock = 512;
constexpr size_t kNameOff = 0, kNameLen = 100;
constexpr size_t kModeOff = 100, kUidOff = 108, kGidOff = 116, kSizeOff = 124, kMtimeOff = 136;
constexpr size_t kSumOff = 148, kTypeOff = 156, kLinkOff = 157, kLinkLen = 100;
constexpr size_t kMagicOff = 257, kDevMajorOff = 329, kDevMinorOff = 337;
constexpr size_t kPrefixOff = 345, kPrefixLen = 155;
constexpr int64_t kSmallIdLimit = int64_t{1} << 18;  // above: a pax record carries the value
constexpr int64_t kMtimeLimit = 0x7fffffff;

struct Header {
  std::string name;
  uint32_t mode = 0;
  int64_t uid = 0, gid = 0, size = 0, mtime = 0;
  char type = '0';
  std::string linkname;
  int64_t devmajor = 0, devminor = 0;
};

void format_octal(int64_t v, char* p, int digits) {
  if (v < 0) v = 0;
  int64_t limit = int64_t{1} << (3 * digits);
  if (v >= limit) {
    std::memset(p, '7', digits);
    return;
  }
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
}

void format_base256(int64_t v, char* p, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;  // arithmetic: a negative value keeps its sign bytes
  }
  p[0] = static_cast<char>(p[0] | 0x80);
}

// Octal in `digits` digits when it fits (strict), else, when not strict, with more digits
// up to max_width (eating the terminator), else base-256 over max_width bytes.
void format_number(int64_t v, char* p, int digits, int max_width, bool strict) {
  if (strict) return format_octal(v, p, digits);
  if (v >= 0) {
    for (int d = digits; d <= max_width; ++d) {
      if (d >= 21 || v < (int64_t{1} << (3 * d))) return format_octal(v, p, d);
    }
  }
  format_base256(v, p, max_width);
}

// Splits a name longer than 100 bytes into ustar prefix and name at a '/'.
Result<void> put_name(const std::string& name, char* h) {
  if (name.size() <= kNameLen) {
    std::memcpy(h + kNameOff, name.data(), name.size());
    return ok();
  }
  size_t slash = name.find('/', name.size() - kNameLen - 1);
  if (slash == 0) slash = name.find('/', 1);
  if (slash == std::string::npos || slash + 1 == name.size() || slash > kPrefixLen) {
    return Error(ErrorKind::not_implemented, "ustar name '" + name + "' cannot be split");
  }
  std::memcpy(h + kPrefixOff, name.data(), slash);
  std::memcpy(h + kNameOff, name.data() + slash + 1, name.size() - slash - 1);
  return ok();
}

Result<std::string> format_header(const Header& f, bool strict) {
  std::string block(kBlock, '\0');
  char* h = block.data();
  std::memcpy(h + kModeOff, "000000 ", 7);
  std::memcpy(h + kUidOff, "000000 ", 7);
  std::memcpy(h + kGidOff, "000000 ", 7);
  std::memcpy(h + kSizeOff, "00000000000 ", 12);
  std::memcpy(h + kMtimeOff, "00000000000 ", 12);
  std::memcpy(h + kMagicOff,
              "ustar\0"
              "00",
              8);
  std::memcpy(h + kDevMajorOff, "000000 ", 7);
  std::memcpy(h + kDevMinorOff, "000000 ", 7);
  GANTRY_TRY(put_name(f.name, h));
  format_number(f.mode & 07777, h + kModeOff, 6, 8, strict);
  format_number(f.uid, h + kUidOff, 6, 8, strict);
  format_number(f.gid, h + kGidOff, 6, 8, strict);
  format_number(f.size, h + kSizeOff, 11, 11, strict);
  format_number(f.mtime, h + kMtimeOff, 11, 11, strict);
  h[kTypeOff] = f.type;
  if (f.linkname.size() > kLinkLen)
    return Error(ErrorKind::internal, "ustar link name over 100 bytes: " + f.linkname);
  std::memcpy(h + kLinkOff, f.linkname.data(), f.linkname.size());
  format_number(f.devmajor, h + kDevMajorOff, 6, 8, strict);
  format_number(f.devminor, h + kDevMinorOff, 6, 8, strict);
  std::memset(h + kSumOff, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  format_octal(sum, h + kSumOff, 6);
  h[kSumOff + 6] = '\0';
  h[kSumOff + 7] = ' ';
  return block;
}

// libarchive's stand-in name when the real one only fits in a pax record: keeps leading
// directories (<= 155 bytes of prefix) and the start of the file name, within 99 bytes.
std::string shortened_name(std::string_view src, const char* insert) {
  size_t insert_len = insert == nullptr ? 0 : std::strlen(insert) + 2;
  if (src.size() < 100 && insert == nullptr) return std::string(src);
  size_t suffix_len = 98;  // what libarchive 3.6.2 does (its source of 2011 says 99)
  size_t fe = src.size();
  bool need_slash = false;
  while (true) {
    if (fe > 0 && src[fe - 1] == '/') {
      --fe;
      need_slash = true;
    } else if (fe > 1 && src[fe - 1] == '.' && src[fe - 2] == '/') {
      fe -= 2;
      need_slash = true;
    } else {
      break;
    }
  }
  if (need_slash) --suffix_len;
  size_t fn = fe == 0 ? 0 : fe - 1;
  while (fn > 0 && src[fn] != '/') --fn;
  if (src[fn] == '/' && fn + 1 < fe) ++fn;
  suffix_len -= insert_len;
  if (fe > fn + suffix_len) fe = fn + suffix_len;
  suffix_len -= fe - fn;
  size_t pe = std::min<size_t>(154, fn);  // 3.6.2 keeps one byte less than its old source
  while (pe > 0 && src[pe] != '/') --pe;
  if (pe < fn && src[pe] == '/') ++pe;
  size_t se = std::min(pe + suffix_len, fn);
  while (se > pe && src[se] != '/') --se;
  if (se < fn && src[se] == '/') ++se;
  std::string out(src.substr(0, pe));
  out.append(src.substr(pe, se - pe));
  if (insert != nullptr) out.append(insert).append("/");
  out.append(src.substr(fn, fe - fn));
  if (need_slash) out.append("/");
  return out;
}

std::string pax_header_name(std::string_view src) {
  size_t p = src.size();
  while (true) {
    if (p > 0 && src[p - 1] == '/') {
      --p;
    } else if (p > 1 && src[p - 1] == '.' && src[p - 2] == '/') {
      --p;
    } else {
      break;
    }
  }
  if (p == 0) return "/PaxHeader/rootdir";
  if (src[0] == '.' && p == 1) return "PaxHeader/currentdir";
  return shortened_name(src.substr(0, p), "PaxHeader");
}

void add_record(std::string& out, std::string_view key, std::string_view value) {
  size_t len = 1 + key.size() + 1 + value.size() + 1;
  size_t digits = std::to_string(len).size();
  if (std::to_string(len + digits).size() > digits) ++digits;
  out.append(std::to_string(len + digits)).append(" ").append(key).append("=").append(value);
  out.append("\n");
}

std::string url_encode(std::string_view in) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (c < 33 || c > 126 || c == '%' || c == '=') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string base64_unpadded(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c > 127) return true;
  return false;
}

char type_flag(const Entry& e) {
  if (e.kind == EntryKind::hardlink) return '1';
  if (e.kind != EntryKind::upsert) return '0';
  switch (e.node.type) {
    case NodeType::regular:
      return '0';
    case NodeType::symlink:
      return '2';
    case NodeType::char_device:
      return '3';
    case NodeType::block_device:
      return '4';
    case NodeType::directory:
      return '5';
    case NodeType::fifo:
      return '6';
  }
  return '0';
}

Result<void> check_entry(const Entry& e) {
  GANTRY_TRY(check_path(e.path));
  if (e.kind == EntryKind::hardlink) GANTRY_TRY_CTX(check_path(e.link_target), "hardlink target");
  if ((e.kind == EntryKind::upsert || e.kind == EntryKind::hardlink) &&
      base_of(e.path).starts_with(kWhiteoutPrefix)) {
    return Error(ErrorKind::invalid_argument, "names starting with .wh. are reserved");
  }
  if (has_non_ascii(e.path) || has_non_ascii(e.link_target) ||
      (e.kind == EntryKind::upsert && has_non_ascii(e.node.target))) {
    return Error(ErrorKind::not_implemented, "names and link targets outside ASCII");
  }
  return ok();
}

Result<void> write_entry(const Entry& e, std::string& out) {
  GANTRY_TRY(check_entry(e));
  const bool marker = e.kind == EntryKind::whiteout || e.kind == EntryKind::opaque;
  const Node& n = e.node;
  Header h;
  h.name = e.tar_name();
  h.type = type_flag(e);
  if (!marker) {
    h.mode = n.mode & 07777;
    h.uid = n.uid;
    h.gid = n.gid;
    h.mtime = n.mtime;
  }
  const bool file_data = e.kind == EntryKind::upsert && n.is_regular();
  if (file_data) h.size = static_cast<int64_t>(n.content.size());
  std::string link;
  if (e.kind == EntryKind::hardlink) link = e.link_target;
  if (e.kind == EntryKind::upsert && n.type == NodeType::symlink) link = n.target;
  const bool device = e.kind == EntryKind::upsert &&
                      (n.type == NodeType::char_device || n.type == NodeType::block_device);
  if (device) {
    h.devmajor = n.major;
    h.devminor = n.minor;
  }

  std::string pax;
  bool need_pax = false;
  if (h.name.size() > 100) {
    size_t slash = h.name.find('/', h.name.size() - 101);
    if (slash == 0) slash = h.name.find('/', 1);
    if (slash == std::string::npos || slash + 1 == h.name.size() || slash > 155) {
      add_record(pax, "path", h.name);
      h.name = shortened_name(h.name, nullptr);
      need_pax = true;
    }
  }
  h.linkname = link;
  if (link.size() > 100) {
    add_record(pax, "linkpath", link);
    h.linkname = e.kind == EntryKind::hardlink ? "././@LongHardLink" : "././@LongSymLink";
    need_pax = true;
  }
  if (h.gid >= kSmallIdLimit) {
    add_record(pax, "gid", std::to_string(h.gid));
    need_pax = true;
  }
  if (h.uid >= kSmallIdLimit) {
    add_record(pax, "uid", std::to_string(h.uid));
    need_pax = true;
  }
  if (device && h.devmajor >= kSmallIdLimit) {
    add_record(pax, "SCHILY.devmajor", std::to_string(h.devmajor));
    need_pax = true;
  }
  if (device && h.devminor >= kSmallIdLimit) {
    add_record(pax, "SCHILY.devminor", std::to_string(h.devminor));
    need_pax = true;
  }
  const bool odd_mtime = h.mtime < 0 || h.mtime >= kMtimeLimit;
  const bool xattrs = e.kind == EntryKind::upsert && !n.xattrs.empty();
  if (odd_mtime || xattrs) need_pax = true;
  if (need_pax) {
    if (odd_mtime) add_record(pax, "mtime", std::to_string(h.mtime));
    if (e.kind == EntryKind::upsert) {
      // Added in ascending order, libarchive writes them last added first.
      for (auto it = n.xattrs.rbegin(); it != n.xattrs.rend(); ++it) {
        std::string name = url_encode(it->first);
        add_record(pax, "LIBARCHIVE.xattr." + name, base64_unpadded(it->second));
        add_record(pax, "SCHILY.xattr." + name, it->second);
      }
    }
  }
  GANTRY_ASSIGN_OR_RETURN(std::string main_block, format_header(h, false));
  if (!pax.empty()) {
    Header x;
    x.name = pax_header_name(h.name);
    x.mode = h.mode & 0777;
    x.uid = std::min(h.uid, kSmallIdLimit - 1);
    x.gid = std::min(h.gid, kSmallIdLimit - 1);
    x.mtime = std::clamp<int64_t>(h.mtime, 0, kMtimeLimit);
    x.size = static_cast<int64_t>(pax.size());
    x.type = 'x';
    GANTRY_ASSIGN_OR_RETURN(std::string x_block, format_header(x, true));
    out += x_block;
    out += pax;
    out.append((kBlock - pax.size() % kBlock) % kBlock, '\0');
  }
  out += main_block;
  if (file_data) {
    out += n.content;
    out.append((kBlock - n.content.size() % kBlock) % kBlock, '\0');
  }
  return ok();
}

}  // namespace

Result<std::string> canonical_tar(const Changeset& layer) {
  std::string out;
  for (const auto& e : layer.entries) {
    GANTRY_TRY_CTX(write_entry(e, out), "tar entry '" + e.tar_name() + "'");
  }
  out.append(2 * kBlock, '\0');
  return out;
}

Result<Digest> diff_id(const Changeset& layer) {
  GANTRY_ASSIGN_OR_RETURN(std::string bytes, canonical_tar(layer));
  return Digest::of(bytes);
}

}  // namespace gantry::model::layers
