// read_tar: tar bytes -> changeset (the model's reader of layers made by anyone).
#include <cstring>
#include <map>

#include "model/layers/canonical_tar.h"

namespace gantry::model::layers {

namespace {

constexpr size_t kBlock = 512;

Error bad(std::string_view where, std::string_view why) {
  return Error(ErrorKind::invalid_argument,
               "tar entry '" + std::string(where) + "': " + std::string(why));
}

Result<int64_t> parse_number(std::string_view f, std::string_view where) {
  if (!f.empty() && (static_cast<unsigned char>(f[0]) & 0x80)) {
    // base-256, two's complement, big endian; the flag bit is part of the sign.
    bool negative = static_cast<unsigned char>(f[0]) & 0x40;
    int64_t v = negative ? -1 : 0;
    unsigned char first = static_cast<unsigned char>(f[0]) & 0x7f;
    if (negative) first |= 0x80;
    if (f.size() > 9) {
      for (size_t i = 0; i + 8 < f.size(); ++i) {
        unsigned char c = i == 0 ? first : static_cast<unsigned char>(f[i]);
        if (c != (negative ? 0xff : 0x00)) return bad(where, "base-256 number out of range");
      }
      f = f.substr(f.size() - 8);
      first = static_cast<unsigned char>(f[0]);
    }
    for (size_t i = 0; i < f.size(); ++i) {
      unsigned char c = i == 0 ? first : static_cast<unsigned char>(f[i]);
      v = static_cast<int64_t>(static_cast<uint64_t>(v) << 8 | c);
    }
    return v;
  }
  size_t i = 0;
  while (i < f.size() && (f[i] == ' ' || f[i] == '\0')) ++i;
  int64_t v = 0;
  size_t digits = 0;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i, ++digits) {
    if (v > (INT64_MAX >> 3)) return bad(where, "octal number out of range");
    v = v * 8 + (f[i] - '0');
  }
  for (; i < f.size(); ++i) {
    if (f[i] != ' ' && f[i] != '\0') return bad(where, "bad octal number field");
  }
  return v;
}

Result<int64_t> parse_decimal(std::string_view s, std::string_view where, bool fraction_ok) {
  size_t i = 0;
  bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  if (i == s.size()) return bad(where, "empty number in pax record");
  int64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (INT64_MAX - 9) / 10) return bad(where, "number out of range in pax record");
    v = v * 10 + (s[i] - '0');
  }
  if (i < s.size()) {
    if (!fraction_ok || s[i] != '.') return bad(where, "bad number in pax record");
    for (++i; i < s.size(); ++i)
      if (s[i] < '0' || s[i] > '9') return bad(where, "bad number in pax record");
  }
  return negative ? -v : v;
}

Result<std::map<std::string, std::string>> parse_pax(std::string_view data,
                                                     std::string_view where) {
  std::map<std::string, std::string> out;
  while (!data.empty()) {
    size_t space = data.find(' ');
    if (space == std::string_view::npos || space == 0 || space > 20)
      return bad(where, "pax record without a length");
    GANTRY_ASSIGN_OR_RETURN(int64_t len, parse_decimal(data.substr(0, space), where, false));
    if (len <= static_cast<int64_t>(space) + 2 || static_cast<size_t>(len) > data.size())
      return bad(where, "pax record length out of range");
    std::string_view rec = data.substr(space + 1, static_cast<size_t>(len) - space - 1);
    if (rec.back() != '\n') return bad(where, "pax record not ended by a newline");
    rec.remove_suffix(1);
    size_t eq = rec.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad(where, "pax record without a key");
    out[std::string(rec.substr(0, eq))] = std::string(rec.substr(eq + 1));
    data.remove_prefix(static_cast<size_t>(len));
  }
  return out;
}

Result<std::string> url_decode(std::string_view in, std::string_view where) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0)
      return bad(where, "bad %-escape in xattr name");
    out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
    i += 2;
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in, std::string_view where) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (v < 0) return bad(where, "bad base64 in xattr value");
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// Strips "./" and "/" in front and "/" behind, as tar does.
std::string clean_name(std::string_view name) {
  while (true) {
    if (name.starts_with("./")) {
      name.remove_prefix(2);
    } else if (name.starts_with("/")) {
      name.remove_prefix(1);
    } else {
      break;
    }
  }
  while (name.ends_with("/")) name.remove_suffix(1);
  if (name == ".") return "";
  return std::string(name);
}

std::string field(const char* h, size_t off, size_t len) {
  std::string_view f(h + off, len);
  return std::string(f.substr(0, f.find('\0')));
}

struct Pending {
  std::map<std::string, std::string> pax;
  std::string long_name, long_link;
  bool has_long_name = false, has_long_link = false;
};

Result<Node> node_of(char type, const char* h, const std::string& name, Pending& p,
                     const std::string& link) {
  Node n;
  switch (type) {
    case '0':
    case '\0':
    case '7':
      n.type = NodeType::regular;
      break;
    case '2':
      n.type = NodeType::symlink;
      break;
    case '3':
      n.type = NodeType::char_device;
      break;
    case '4':
      n.type = NodeType::block_device;
      break;
    case '5':
      n.type = NodeType::directory;
      break;
    case '6':
      n.type = NodeType::fifo;
      break;
    default:
      return bad(name, std::string("unsupported entry type '") + type + "'");
  }
  GANTRY_ASSIGN_OR_RETURN(int64_t mode, parse_number({h + 100, 8}, name));
  GANTRY_ASSIGN_OR_RETURN(int64_t uid, parse_number({h + 108, 8}, name));
  GANTRY_ASSIGN_OR_RETURN(int64_t gid, parse_number({h + 116, 8}, name));
  GANTRY_ASSIGN_OR_RETURN(int64_t mtime, parse_number({h + 136, 12}, name));
  GANTRY_ASSIGN_OR_RETURN(int64_t major, parse_number({h + 329, 8}, name));
  GANTRY_ASSIGN_OR_RETURN(int64_t minor, parse_number({h + 337, 8}, name));
  if (auto it = p.pax.find("uid"); it != p.pax.end()) {
    GANTRY_ASSIGN_OR_RETURN(uid, parse_decimal(it->second, name, false));
  }
  if (auto it = p.pax.find("gid"); it != p.pax.end()) {
    GANTRY_ASSIGN_OR_RETURN(gid, parse_decimal(it->second, name, false));
  }
  if (auto it = p.pax.find("mtime"); it != p.pax.end()) {
    GANTRY_ASSIGN_OR_RETURN(mtime, parse_decimal(it->second, name, true));
  }
  if (auto it = p.pax.find("SCHILY.devmajor"); it != p.pax.end()) {
    GANTRY_ASSIGN_OR_RETURN(major, parse_decimal(it->second, name, false));
  }
  if (auto it = p.pax.find("SCHILY.devminor"); it != p.pax.end()) {
    GANTRY_ASSIGN_OR_RETURN(minor, parse_decimal(it->second, name, false));
  }
  if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
    return bad(name, "uid or gid out of range");
  if (major < 0 || major > UINT32_MAX || minor < 0 || minor > UINT32_MAX)
    return bad(name, "device number out of range");
  n.mode = static_cast<uint32_t>(mode) & 07777;
  n.uid = static_cast<uint32_t>(uid);
  n.gid = static_cast<uint32_t>(gid);
  n.mtime = mtime;
  if (n.type == NodeType::symlink) n.target = link;
  if (n.type == NodeType::char_device || n.type == NodeType::block_device) {
    n.major = static_cast<uint32_t>(major);
    n.minor = static_cast<uint32_t>(minor);
  }
  bool libarchive_xattrs = false;
  for (const auto& [k, v] : p.pax) libarchive_xattrs |= k.starts_with("LIBARCHIVE.xattr.");
  for (const auto& [k, v] : p.pax) {
    std::string xname;
    std::string value;
    if (k.starts_with("LIBARCHIVE.xattr.")) {
      GANTRY_ASSIGN_OR_RETURN(xname, url_decode(k.substr(17), name));
      GANTRY_ASSIGN_OR_RETURN(value, base64_decode(v, name));
    } else if (!libarchive_xattrs && k.starts_with("SCHILY.xattr.")) {
      xname = k.substr(13);
      value = v;
    } else {
      continue;
    }
    if (!xname.starts_with("user.") || xname.size() == 5) continue;
    if (n.type == NodeType::fifo || n.type == NodeType::char_device ||
        n.type == NodeType::block_device)
      continue;
    n.xattrs[xname] = value;
  }
  return n.normalized();
}

Result<void> add_entry(Changeset& out, const char* h, std::string_view data, Pending& p) {
  std::string raw = field(h, 0, 100);
  if (std::memcmp(h + 257, "ustar\0", 6) == 0) {
    std::string prefix = field(h, 345, 155);
    if (!prefix.empty()) raw = prefix + "/" + raw;
  }
  if (p.has_long_name) raw = p.long_name;
  if (auto it = p.pax.find("path"); it != p.pax.end()) raw = it->second;
  std::string link = field(h, 157, 100);
  if (p.has_long_link) link = p.long_link;
  if (auto it = p.pax.find("linkpath"); it != p.pax.end()) link = it->second;
  const char type = h[156];
  // An entry without a name is damage (libarchive refuses it too); "./" or "/" is the root,
  // which is not part of a layer.
  if (raw.empty()) return bad("at header", "an entry with an empty name");
  std::string name = clean_name(raw);
  if (name.empty()) return ok();
  if (auto r = check_path(name); !r) return bad(raw, r.error().message());
  std::string_view base = base_of(name);
  if (base.starts_with(kWhiteoutPrefix)) {
    std::string parent(parent_of(name));
    if (base == kOpaqueMarker) {
      if (parent.empty())
        return Error(ErrorKind::not_implemented, "tar entry '" + raw + "': opaque root");
      out.entries.push_back(Entry::opaque(parent));
      return ok();
    }
    std::string_view hidden = base.substr(kWhiteoutPrefix.size());
    if (hidden.starts_with(kWhiteoutPrefix) || hidden.empty() || hidden == "." || hidden == "..")
      return bad(raw, "unsupported whiteout name");
    out.entries.push_back(Entry::whiteout(join_path(parent, hidden)));
    return ok();
  }
  if (type == '1') {
    std::string target = clean_name(link);
    if (auto r = check_path(target); !r) return bad(raw, "hardlink target: " + r.error().message());
    GANTRY_ASSIGN_OR_RETURN(Node meta, node_of('0', h, raw, p, link));
    out.entries.push_back(Entry::hardlink(name, target, meta));
    return ok();
  }
  GANTRY_ASSIGN_OR_RETURN(Node node, node_of(type, h, raw, p, link));
  if (node.is_regular()) node.content = std::string(data);
  out.entries.push_back(Entry::upsert(name, std::move(node)));
  return ok();
}

bool all_zero(std::string_view block) {
  for (char c : block)
    if (c != '\0') return false;
  return true;
}

}  // namespace

Result<Changeset> read_tar(std::string_view bytes) {
  Changeset out;
  Pending pending;
  size_t pos = 0;
  while (true) {
    std::string at = "at offset " + std::to_string(pos);
    if (pos + kBlock > bytes.size()) return bad(at, "archive ends without its end blocks");
    std::string_view block = bytes.substr(pos, kBlock);
    if (all_zero(block)) {
      if (pos + 2 * kBlock > bytes.size() || !all_zero(bytes.substr(pos + kBlock, kBlock)))
        return bad(at, "a lone zero block");
      // A pax or GNU long-name header describes the entry after it: ending here is damage.
      if (pending.has_long_name || pending.has_long_link || !pending.pax.empty())
        return bad(at, "an extended header with no entry after it");
      return out;
    }
    const char* h = block.data();
    std::string name = field(h, 0, 100);
    GANTRY_ASSIGN_OR_RETURN(int64_t sum, parse_number({h + 148, 8}, name));
    int64_t unsigned_sum = 0, signed_sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      char c = i >= 148 && i < 156 ? ' ' : h[i];
      unsigned_sum += static_cast<unsigned char>(c);
      signed_sum += static_cast<signed char>(c);
    }
    if (sum != unsigned_sum && sum != signed_sum) return bad(name, "bad header checksum");
    GANTRY_ASSIGN_OR_RETURN(int64_t size, parse_number({h + 124, 12}, name));
    const char type = h[156];
    if (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6')
      size = type == '1' ? 0 : size;
    if (auto it = pending.pax.find("size"); it != pending.pax.end() && type != 'x') {
      GANTRY_ASSIGN_OR_RETURN(size, parse_decimal(it->second, name, false));
    }
    if (size < 0 || static_cast<uint64_t>(size) > bytes.size() - pos - kBlock)
      return bad(name, "entry data runs past the end of the archive");
    std::string_view data = bytes.substr(pos + kBlock, static_cast<size_t>(size));
    pos += kBlock + (static_cast<size_t>(size) + kBlock - 1) / kBlock * kBlock;
    if (type == 'x') {
      GANTRY_ASSIGN_OR_RETURN(auto records, parse_pax(data, name));
      for (auto& [k, v] : records) pending.pax[k] = std::move(v);
      continue;
    }
    if (type == 'g') continue;  // global records set nothing a layer carries
    if (type == 'L' || type == 'K') {
      std::string s(data.substr(0, data.find('\0')));
      (type == 'L' ? pending.long_name : pending.long_link) = s;
      (type == 'L' ? pending.has_long_name : pending.has_long_link) = true;
      continue;
    }
    bool has_data = type == '0' || type == '\0' || type == '7';
    GANTRY_TRY(add_entry(out, h, has_data ? data : std::string_view(), pending));
    pending = Pending{};
  }
}

}  // namespace gantry::model::layers
