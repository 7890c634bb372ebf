#include "tests/support/layers/convert.h"

namespace gantry::testing::layers {

using model::layers::Changeset;
using model::layers::Entry;
using model::layers::EntryKind;
using model::layers::Node;
using model::layers::NodeType;
using runtime::image::EntryType;
using runtime::image::TarEntry;
using runtime::image::TarMember;

namespace {

EntryType entry_type_of(NodeType type) {
  switch (type) {
    case NodeType::regular:
      return EntryType::regular;
    case NodeType::directory:
      return EntryType::directory;
    case NodeType::symlink:
      return EntryType::symlink;
    case NodeType::fifo:
      return EntryType::fifo;
    case NodeType::char_device:
      return EntryType::char_device;
    case NodeType::block_device:
      return EntryType::block_device;
  }
  return EntryType::regular;
}

void copy_metadata(const Node& node, TarEntry& out) {
  out.mode = node.mode & 07777;
  out.uid = node.uid;
  out.gid = node.gid;
  out.mtime_s = node.mtime;
}

Node node_of(const TarEntry& e, NodeType type) {
  Node n;
  n.type = type;
  n.mode = e.mode & 07777;
  n.uid = e.uid;
  n.gid = e.gid;
  n.mtime = e.mtime_s;
  return n;
}

}  // namespace

TarEntry to_tar_entry(const Entry& entry) {
  switch (entry.kind) {
    case EntryKind::whiteout:
      return runtime::image::whiteout_entry(entry.path);
    case EntryKind::opaque:
      return runtime::image::opaque_entry(entry.path);
    case EntryKind::hardlink: {
      TarEntry out;
      out.path = entry.path;
      out.type = EntryType::hardlink;
      copy_metadata(entry.node, out);
      out.link_target = entry.link_target;
      return out;
    }
    case EntryKind::upsert:
      break;
  }
  const Node& node = entry.node;
  TarEntry out;
  out.path = entry.path;
  out.type = entry_type_of(node.type);
  copy_metadata(node, out);
  out.xattrs = node.xattrs;
  switch (node.type) {
    case NodeType::regular:
      out.size_bytes = static_cast<int64_t>(node.content.size());
      break;
    case NodeType::symlink:
      out.link_target = node.target;
      break;
    case NodeType::char_device:
    case NodeType::block_device:
      out.rdev_major = node.major;
      out.rdev_minor = node.minor;
      break;
    default:
      break;
  }
  return out;
}

Result<Entry> to_model_entry(const TarMember& member) {
  const TarEntry& e = member.entry;
  Node n;
  switch (e.type) {
    case EntryType::whiteout:
      return Entry::whiteout(runtime::image::whiteout_target(e));
    case EntryType::opaque:
      return Entry::opaque(std::string(runtime::image::parent_path(e.path)));
    case EntryType::hardlink:
      return Entry::hardlink(e.path, e.link_target, node_of(e, NodeType::regular));
    case EntryType::regular:
      if (!member.content_kept)
        return Error(ErrorKind::invalid_argument, "'" + e.path + "': content not kept");
      n = node_of(e, NodeType::regular);
      n.content = member.content;
      break;
    case EntryType::directory:
      n = node_of(e, NodeType::directory);
      break;
    case EntryType::symlink:
      n = node_of(e, NodeType::symlink);
      n.target = e.link_target;
      break;
    case EntryType::fifo:
      n = node_of(e, NodeType::fifo);
      break;
    case EntryType::char_device:
    case EntryType::block_device:
      n = node_of(
          e, e.type == EntryType::char_device ? NodeType::char_device : NodeType::block_device);
      n.major = e.rdev_major;
      n.minor = e.rdev_minor;
      break;
  }
  n.xattrs = e.xattrs;
  return Entry::upsert(e.path, std::move(n));
}

Result<Changeset> to_changeset(const std::vector<TarMember>& tar) {
  Changeset out;
  for (const auto& m : tar) {
    GANTRY_ASSIGN_OR_RETURN(Entry e, to_model_entry(m));
    out.entries.push_back(std::move(e));
  }
  return out;
}

namespace {

Result<std::string> write_members(const std::vector<std::pair<TarEntry, std::string>>& members) {
  std::string bytes;
  GANTRY_ASSIGN_OR_RETURN(auto writer,
                          runtime::image::LayerWriter::open(runtime::image::string_sink(bytes)));
  for (const auto& [entry, content] : members) {
    if (entry.type == EntryType::regular) {
      GANTRY_TRY(writer->add_file(entry, content));
    } else {
      GANTRY_TRY(writer->add(entry));
    }
  }
  GANTRY_TRY(writer->finish());
  return bytes;
}

}  // namespace

Result<std::string> write_with_layer_writer(const Changeset& layer) {
  std::vector<std::pair<TarEntry, std::string>> members;
  for (const auto& e : layer.entries) {
    bool content = e.kind == EntryKind::upsert && e.node.is_regular();
    members.emplace_back(to_tar_entry(e), content ? e.node.content : std::string());
  }
  return write_members(members);
}

Result<std::string> write_with_layer_writer(const std::vector<TarMember>& tar) {
  std::vector<std::pair<TarEntry, std::string>> members;
  for (const auto& m : tar) {
    if (m.entry.type == EntryType::regular && !m.content_kept)
      return Error(ErrorKind::invalid_argument, "'" + m.entry.path + "': content not kept");
    members.emplace_back(m.entry, m.content);
  }
  return write_members(members);
}

}  // namespace gantry::testing::layers
