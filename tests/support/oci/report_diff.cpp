#include "tests/support/oci/report_diff.h"

#include <map>

namespace gantry::testing::oci {

using json = nlohmann::json;

namespace {

std::string fd_kind(const std::string& target) {
  for (const char* kind : {"pipe:", "socket:", "anon_inode:"}) {
    if (target.rfind(kind, 0) == 0) return std::string(kind, std::string(kind).size() - 1);
  }
  // A regular file the caller gave as stdout: its path is per runtime (the drivers' outputs).
  if (target.rfind("/", 0) == 0 && target.rfind("/dev/", 0) != 0) return "file";
  return target;
}

void flatten(const json& v, const std::string& path, std::map<std::string, json>& out) {
  if (v.is_object() && !v.empty()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string key = it.key();
      std::string escaped;
      for (char c : key) {
        if (c == '~')
          escaped += "~0";
        else if (c == '/')
          escaped += "~1";
        else
          escaped += c;
      }
      flatten(it.value(), path + "/" + escaped, out);
    }
    return;
  }
  out[path.empty() ? "/" : path] = v;
}

}  // namespace

json normalize_report(const json& report) {
  json r = report;
  r.erase("ppid");
  if (r.contains("mounts") && r["mounts"].is_array()) {
    json mounts = json::object();
    std::map<std::string, int> seen;
    for (const auto& m : r["mounts"]) {
      std::string point = m.value("mount_point", "?");
      int n = ++seen[point];
      std::string key = n == 1 ? point : point + "#" + std::to_string(n);
      json keep = {{"fstype", m.value("fstype", json())},
                   {"options", m.value("options", json())},
                   {"super_options", m.value("super_options", json())}};
      mounts[key] = keep;
    }
    r["mounts"] = mounts;
  }
  if (r.contains("fds") && r["fds"].is_object()) {
    json fds = json::object();
    for (auto it = r["fds"].begin(); it != r["fds"].end(); ++it)
      fds[it.key()] =
          it.value().is_string() ? json(fd_kind(it.value().get<std::string>())) : it.value();
    r["fds"] = fds;
  }
  if (r.contains("cgroup") && r["cgroup"].is_object()) r["cgroup"].erase("membership");
  return r;
}

std::vector<std::string> report_differences(const json& a, const std::string& a_name, const json& b,
                                            const std::string& b_name) {
  std::map<std::string, json> fa, fb;
  flatten(normalize_report(a), "", fa);
  flatten(normalize_report(b), "", fb);
  std::vector<std::string> out;
  auto ia = fa.begin();
  auto ib = fb.begin();
  auto line = [&](const std::string& path, const json* va, const json* vb) {
    out.push_back(path + ": " + a_name + " " + (va ? va->dump() : "(absent)") + " vs " + b_name +
                  " " + (vb ? vb->dump() : "(absent)"));
  };
  while (ia != fa.end() || ib != fb.end()) {
    if (ib == fb.end() || (ia != fa.end() && ia->first < ib->first)) {
      line(ia->first, &ia->second, nullptr);
      ++ia;
    } else if (ia == fa.end() || ib->first < ia->first) {
      line(ib->first, nullptr, &ib->second);
      ++ib;
    } else {
      if (ia->second != ib->second) line(ia->first, &ia->second, &ib->second);
      ++ia;
      ++ib;
    }
  }
  return out;
}

}  // namespace gantry::testing::oci
