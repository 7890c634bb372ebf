// `list [--format table|json] [-q]`: every container under the root, reconciled. The table has
// runc's columns (ID PID STATUS BUNDLE CREATED OWNER); json is an array of state documents.
#include <algorithm>

#include "runtime/oci/operations.h"

namespace gantry::runtime::oci {

namespace {

// Go's text/tabwriter as runc sets it up: min width 12, padding 3, spaces.
std::string tabulate(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(std::max<size_t>(12, widths[i] + 3) - row[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace

Result<std::string> list(StateStore& store, const ListOptions& o) {
  if (o.format != "table" && o.format != "json") {
    return Error(ErrorKind::invalid_argument, "invalid format option: " + o.format);
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> ids, store.list_ids());
  std::vector<Container> containers;
  for (const auto& id : ids) {
    auto c = store.load(id);
    if (c) containers.push_back(std::move(*c));  // a create in progress has no state yet
  }
  if (o.quiet) {
    std::string out;
    for (const auto& c : containers) out += c.record.id + "\n";
    return out;
  }
  if (o.format == "json") {
    auto array = nlohmann::ordered_json::array();
    for (const auto& c : containers) array.push_back(state_document(c));
    return array.dump() + "\n";
  }
  std::vector<std::vector<std::string>> rows{{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& c : containers) {
    rows.push_back({c.record.id, std::to_string(c.live_pid()), std::string(api::to_string(c.state)),
                    c.record.bundle, c.record.created, c.record.owner});
  }
  return tabulate(rows);
}

}  // namespace gantry::runtime::oci
