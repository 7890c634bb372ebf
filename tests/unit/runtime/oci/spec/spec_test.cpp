// parse_spec: runc's default config, the default we write, round trips through our own
// default, and each kind of validation error with the JSON path it names.
#include "runtime/oci/spec/spec.h"

#include <sched.h>
#include <sys/resource.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "runtime/oci/spec/mount_options.h"

namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;
using nlohmann::json;

namespace {

// `runc spec` of runc 1.1.5, as printed on this machine.
const char* kRuncDefault = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";

json base() {
  return json::parse(kRuncDefault);
}

// Parses `doc` and expects an error of `kind` whose message starts with `path`.
void expect_error(const json& doc, ErrorKind kind, const std::string& path) {
  auto r = spec::parse_spec(doc.dump());
  BOOST_REQUIRE_MESSAGE(!r, "accepted, expected an error at " + path);
  BOOST_TEST(r.error().kind() == kind, r.error().message());
  BOOST_TEST(r.error().message().rfind(path + ":", 0) == 0,
             "'" << r.error().message() << "' does not start with '" << path << ":'");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_spec)

BOOST_AUTO_TEST_CASE(parses_runc_default) {
  auto r = spec::parse_spec(kRuncDefault);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
  const spec::Spec& s = *r;
  BOOST_TEST(s.oci_version == "1.0.2-dev");
  BOOST_REQUIRE(s.process);
  BOOST_TEST(s.process->terminal);
  BOOST_TEST(s.process->args == std::vector<std::string>{"sh"});
  BOOST_TEST(s.process->cwd == "/");
  BOOST_REQUIRE(s.process->capabilities);
  BOOST_TEST(s.process->capabilities->bounding.size() == 3u);
  BOOST_TEST(s.process->capabilities->inheritable.empty());
  BOOST_REQUIRE_EQUAL(s.process->rlimits.size(), 1u);
  BOOST_TEST(s.process->rlimits[0].resource == RLIMIT_NOFILE);
  BOOST_TEST(s.process->rlimits[0].soft == 1024u);
  BOOST_TEST(s.process->no_new_privileges);
  BOOST_TEST(s.root.path == "rootfs");
  BOOST_TEST(s.root.readonly);
  BOOST_TEST(s.hostname == "runc");
  BOOST_REQUIRE_EQUAL(s.mounts.size(), 7u);
  BOOST_TEST(s.mounts[1].options[2] == "mode=755");
  BOOST_REQUIRE_EQUAL(s.linux.namespaces.size(), 5u);
  BOOST_TEST(s.linux.find_namespace(spec::NamespaceType::network) != nullptr);
  BOOST_TEST(s.linux.find_namespace(spec::NamespaceType::user) == nullptr);
  BOOST_TEST(s.linux.masked_paths.size() == 10u);
  BOOST_TEST(s.linux.readonly_paths.size() == 5u);
  BOOST_REQUIRE(s.linux.resources);
  BOOST_REQUIRE_EQUAL(s.linux.resources->devices.size(), 1u);
  BOOST_TEST(!s.linux.resources->devices[0].allow);
  BOOST_TEST(s.linux.resources->devices[0].access == "rwm");
}

BOOST_AUTO_TEST_CASE(our_default_equals_runcs_but_version) {
  json ours = json::parse(spec::default_spec_json(false));
  json runc = base();
  BOOST_TEST(ours["ociVersion"] == "1.1.0");
  ours.erase("ociVersion");
  runc.erase("ociVersion");
  BOOST_TEST(ours == runc, ours.dump() + "\n!=\n" + runc.dump());
  BOOST_REQUIRE(spec::parse_spec(spec::default_spec_json(false)));
}

BOOST_AUTO_TEST_CASE(rootless_default_maps_the_caller) {
  auto r = spec::parse_spec(spec::default_spec_json(true));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
  BOOST_TEST(r->linux.find_namespace(spec::NamespaceType::user) != nullptr);
  BOOST_TEST(r->linux.find_namespace(spec::NamespaceType::network) == nullptr);
  BOOST_REQUIRE_EQUAL(r->linux.uid_mappings.size(), 1u);
  BOOST_TEST(r->linux.uid_mappings[0].host_id == ::geteuid());
  BOOST_TEST(!r->linux.resources);
}

BOOST_AUTO_TEST_CASE(full_document_round_trips_its_fields) {
  json d = base();
  d["process"]["user"] = {{"uid", 1000}, {"gid", 100}, {"umask", 18}, {"additionalGids", {5, 6}}};
  d["process"]["oomScoreAdj"] = -500;
  d["process"]["consoleSize"] = {{"height", 24}, {"width", 80}};
  d["domainname"] = "example.org";
  d["hooks"] = {{"prestart", {{{"path", "/bin/true"}, {"args", {"true", "x"}}, {"timeout", 3}}}},
                {"poststop", {{{"path", "/bin/false"}, {"env", {"A=1"}}}}}};
  d["annotations"] = {{"a", "b"}};
  d["linux"]["namespaces"].push_back({{"type", "cgroup"}, {"path", "/proc/1/ns/cgroup"}});
  d["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "1000"}};
  d["linux"]["resources"]["memory"] = {{"limit", 1048576}, {"swap", -1}, {"swappiness", 10}};
  d["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 50000}, {"cpus", "0"}};
  d["linux"]["resources"]["pids"] = {{"limit", 64}};
  d["linux"]["resources"]["unified"] = {{"memory.high", "max"}};
  d["linux"]["devices"] = {{{"type", "c"},
                            {"path", "/dev/fuse"},
                            {"major", 10},
                            {"minor", 229},
                            {"fileMode", 438},
                            {"uid", 0}}};
  d["linux"]["cgroupsPath"] = "/gantry/x";
  d["linux"]["rootfsPropagation"] = "rslave";
  d["linux"]["personality"] = {{"domain", "LINUX"}};
  d["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"defaultErrnoRet", 38},
                           {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                           {"syscalls",
                            {{{"names", {"read", "write"}},
                              {"action", "SCMP_ACT_ALLOW"},
                              {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  auto r = spec::parse_spec(d.dump());
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
  const auto& s = *r;
  BOOST_TEST(s.process->user.uid == 1000u);
  BOOST_TEST(s.process->user.gid == 100u);
  BOOST_TEST(*s.process->user.umask == 18u);
  BOOST_TEST(s.process->user.additional_gids == std::vector<uint32_t>({5, 6}));
  BOOST_TEST(*s.process->oom_score_adj == -500);
  BOOST_TEST(s.process->console_size->width == 80u);
  BOOST_TEST(s.domainname == "example.org");
  BOOST_REQUIRE_EQUAL(s.hooks.prestart.size(), 1u);
  BOOST_TEST(*s.hooks.prestart[0].timeout_seconds == 3);
  BOOST_TEST(s.hooks.poststop[0].env[0] == "A=1");
  BOOST_TEST(s.annotations.at("a") == "b");
  BOOST_TEST(s.linux.find_namespace(spec::NamespaceType::cgroup)->path == "/proc/1/ns/cgroup");
  BOOST_TEST(s.linux.sysctl.size() == 2u);
  BOOST_TEST(*s.linux.resources->memory->limit == 1048576);
  BOOST_TEST(*s.linux.resources->memory->swap == -1);
  BOOST_TEST(*s.linux.resources->cpu->quota == 50000);
  BOOST_TEST(s.linux.resources->cpu->cpus == "0");
  BOOST_TEST(s.linux.resources->pids->limit == 64);
  BOOST_TEST(s.linux.resources->unified.at("memory.high") == "max");
  BOOST_TEST(s.linux.devices[0].major == 10);
  BOOST_TEST(*s.linux.devices[0].file_mode == 438u);
  BOOST_TEST(s.linux.cgroups_path == "/gantry/x");
  BOOST_TEST(s.linux.rootfs_propagation == "rslave");
  BOOST_TEST(s.linux.personality->domain == "LINUX");
  BOOST_REQUIRE(s.linux.seccomp);
  BOOST_TEST(*s.linux.seccomp->default_errno_ret == 38u);
  BOOST_TEST(s.linux.seccomp->syscalls[0].names.size() == 2u);
  BOOST_TEST(s.linux.seccomp->syscalls[0].args[0].op == "SCMP_CMP_EQ");
}

BOOST_AUTO_TEST_CASE(malformed_documents_are_invalid_argument) {
  auto r = spec::parse_spec("{not json");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(r.error().message().find("config.json: invalid JSON") == 0);
  BOOST_TEST(!spec::parse_spec("[]"));
  BOOST_TEST(!spec::parse_spec(""));
}

BOOST_AUTO_TEST_CASE(each_error_names_its_path) {
  struct Case {
    std::function<void(json&)> edit;
    ErrorKind kind;
    std::string path;
  };
  const ErrorKind inv = ErrorKind::invalid_argument;
  const ErrorKind nimp = ErrorKind::not_implemented;
  std::vector<Case> cases = {
      {[](json& d) { d.erase("ociVersion"); }, inv, "ociVersion"},
      {[](json& d) { d["ociVersion"] = "2.0.0"; }, nimp, "ociVersion"},
      {[](json& d) { d.erase("root"); }, inv, "root"},
      {[](json& d) { d["root"]["path"] = 7; }, inv, "root.path"},
      {[](json& d) { d["process"]["cwd"] = "tmp"; }, inv, "process.cwd"},
      {[](json& d) { d["process"].erase("cwd"); }, inv, "process.cwd"},
      {[](json& d) { d["process"]["args"] = json::array(); }, inv, "process.args"},
      {[](json& d) { d["process"]["args"][0] = 1; }, inv, "process.args[0]"},
      {[](json& d) { d["process"]["env"][1] = "NOEQUALS"; }, inv, "process.env[1]"},
      {[](json& d) { d["process"]["user"]["uid"] = -1; }, inv, "process.user.uid"},
      {[](json& d) { d["process"]["user"]["gid"] = 4294967296; }, inv, "process.user.gid"},
      {[](json& d) { d["process"]["user"]["uid"] = 1.5; }, inv, "process.user.uid"},
      {[](json& d) { d["process"]["terminal"] = "yes"; }, inv, "process.terminal"},
      {[](json& d) {
         d["process"]["rlimits"].push_back({{"type", "RLIMIT_FOO"}, {"soft", 1}, {"hard", 1}});
       },
       inv, "process.rlimits[1].type"},
      {[](json& d) {
         d["process"]["rlimits"].push_back({{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 1}});
       },
       inv, "process.rlimits[1].type"},
      {[](json& d) { d["process"]["rlimits"][0]["soft"] = 2048; }, inv, "process.rlimits[0].soft"},
      {[](json& d) { d["process"]["rlimits"][0].erase("hard"); }, inv, "process.rlimits[0].hard"},
      {[](json& d) { d["process"]["capabilities"]["effective"][1] = "CAP_FOO"; }, inv,
       "process.capabilities.effective[1]"},
      {[](json& d) { d["process"]["oomScoreAdj"] = 1001; }, inv, "process.oomScoreAdj"},
      {[](json& d) {
         d["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}};
       },
       nimp, "process.scheduler"},
      {[](json& d) { d["linux"]["namespaces"][0]["type"] = "foo"; }, inv,
       "linux.namespaces[0].type"},
      {[](json& d) {
         d["linux"]["namespaces"].push_back({{"type", "pid"}});
       },
       inv, "linux.namespaces[5].type"},
      {[](json& d) { d["linux"]["namespaces"][1]["path"] = "proc/1/ns/net"; }, inv,
       "linux.namespaces[1].path"},
      {[](json& d) {
         d["linux"]["namespaces"].push_back({{"type", "time"}});
       },
       nimp, "linux.namespaces"},
      {[](json& d) {
         d["linux"]["namespaces"].push_back({{"type", "user"}});
       },
       inv, "linux.uidMappings"},
      {[](json& d) {
         d["linux"]["namespaces"].push_back({{"type", "user"}});
         d["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
       },
       inv, "linux.gidMappings"},
      {[](json& d) {
         d["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
       },
       inv, "linux.uidMappings"},
      {[](json& d) {
         d["linux"]["namespaces"].push_back({{"type", "user"}});
         d["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 0}}};
       },
       inv, "linux.uidMappings[0].size"},
      {[](json& d) { d["linux"]["namespaces"].erase(3); }, inv, "hostname"},
      {[](json& d) {
         d["linux"]["sysctl"] = {{"vm.swappiness", "1"}};
       },
       inv, "linux.sysctl.vm.swappiness"},
      {[](json& d) {
         d["linux"]["namespaces"].erase(1);
         d["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
       },
       inv, "linux.sysctl.net.ipv4.ip_forward"},
      {[](json& d) { d["mounts"][2].erase("destination"); }, inv, "mounts[2].destination"},
      {[](json& d) { d["mounts"][1]["options"].push_back("tmpcopyup"); }, nimp,
       "mounts[1].options[4]"},
      {[](json& d) { d["mounts"][1]["options"][0] = ""; }, inv, "mounts[1].options[0]"},
      {[](json& d) {
         d["mounts"][0]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}};
       },
       nimp, "mounts[0].uidMappings"},
      {[](json& d) {
         d["hooks"] = {{"poststart", {{{"path", "rel/hook"}}}}};
       },
       inv, "hooks.poststart[0].path"},
      {[](json& d) {
         d["hooks"] = {{"prestart", {{{"path", "/x"}, {"timeout", 0}}}}};
       },
       inv, "hooks.prestart[0].timeout"},
      {[](json& d) {
         d["annotations"] = {{"a", 1}};
       },
       inv, "annotations.a"},
      {[](json& d) { d["linux"]["maskedPaths"][0] = "proc/kcore"; }, inv, "linux.maskedPaths[0]"},
      {[](json& d) { d["linux"]["readonlyPaths"][4] = "x"; }, inv, "linux.readonlyPaths[4]"},
      {[](json& d) { d["linux"]["rootfsPropagation"] = "sideways"; }, inv,
       "linux.rootfsPropagation"},
      {[](json& d) {
         d["linux"]["devices"] = {{{"type", "x"}, {"path", "/dev/x"}}};
       },
       inv, "linux.devices[0].type"},
      {[](json& d) {
         d["linux"]["devices"] = {{{"type", "c"}, {"path", "/dev/x"}}};
       },
       inv, "linux.devices[0].major"},
      {[](json& d) { d["linux"]["resources"]["devices"][0]["access"] = "rwx"; }, inv,
       "linux.resources.devices[0].access"},
      {[](json& d) { d["linux"]["resources"]["devices"][0].erase("allow"); }, inv,
       "linux.resources.devices[0].allow"},
      {[](json& d) {
         d["linux"]["resources"]["memory"] = {{"limit", "1G"}};
       },
       inv, "linux.resources.memory.limit"},
      {[](json& d) { d["linux"]["resources"]["pids"] = json::object(); }, inv,
       "linux.resources.pids.limit"},
      {[](json& d) {
         d["linux"]["resources"]["blockIO"] = {{"weight", 10}};
       },
       nimp, "linux.resources.blockIO"},
      {[](json& d) {
         d["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 1}}};
       },
       nimp, "linux.resources.hugepageLimits"},
      {[](json& d) {
         d["linux"]["intelRdt"] = {{"closID", "x"}};
       },
       nimp, "linux.intelRdt"},
      {[](json& d) {
         d["linux"]["personality"] = {{"domain", "SVR4"}};
       },
       nimp, "linux.personality.domain"},
      {[](json& d) {
         d["vm"] = {{"hypervisor", {{"path", "/x"}}}};
       },
       nimp, "vm"},
      {[](json& d) {
         d["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_FOO"}};
       },
       inv, "linux.seccomp.defaultAction"},
      {[](json& d) {
         d["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOTIFY"}};
       },
       nimp, "linux.seccomp.defaultAction"},
      {[](json& d) {
         d["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"listenerPath", "/run/agent.sock"}};
       },
       nimp, "linux.seccomp.listenerPath"},
      {[](json& d) {
         d["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"architectures", {"SCMP_ARCH_PDP11"}}};
       },
       inv, "linux.seccomp.architectures[0]"},
      {[](json& d) {
         d["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"flags", {"SECCOMP_FILTER_FLAG_NEW_LISTENER"}}};
       },
       nimp, "linux.seccomp.flags[0]"},
      {[](json& d) {
         d["linux"]["seccomp"] = {
             {"defaultAction", "SCMP_ACT_ALLOW"},
             {"syscalls",
              {{{"names", {"kill"}},
                {"action", "SCMP_ACT_ERRNO"},
                {"args", {{{"index", 7}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
       },
       inv, "linux.seccomp.syscalls[0].args[0].index"},
      {[](json& d) {
         d["linux"]["seccomp"] = {
             {"defaultAction", "SCMP_ACT_ALLOW"},
             {"syscalls",
              {{{"names", {"kill"}},
                {"action", "SCMP_ACT_ERRNO"},
                {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_XOR"}}}}}}}};
       },
       inv, "linux.seccomp.syscalls[0].args[0].op"},
      {[](json& d) {
         d["linux"]["seccomp"] = {
             {"defaultAction", "SCMP_ACT_ALLOW"},
             {"syscalls", {{{"names", json::array()}, {"action", "SCMP_ACT_ERRNO"}}}}};
       },
       inv, "linux.seccomp.syscalls[0].names"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    BOOST_TEST_CONTEXT("case " << i << " (" << cases[i].path << ")") {
      json d = base();
      cases[i].edit(d);
      expect_error(d, cases[i].kind, cases[i].path);
    }
  }
}

BOOST_AUTO_TEST_CASE(lenient_where_runc_is) {
  json d = base();
  d["process"].erase("user");
  d["mounts"][0]["destination"] = "proc";
  d["unknownTopLevel"] = {{"x", 1}};
  d["linux"]["resources"]["blockIO"] = json::object();
  d["process"]["capabilities"].erase("inheritable");
  auto r = spec::parse_spec(d.dump());
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
  BOOST_TEST(r->process->user.uid == 0u);
  BOOST_TEST(r->mounts[0].destination == "/proc");
  d.erase("process");
  BOOST_TEST(spec::parse_spec(d.dump()).has_value());
}

BOOST_AUTO_TEST_CASE(process_json_for_exec) {
  auto p = spec::parse_process(R"({"args":["ls","-l"],"cwd":"/tmp","env":["A=b"],
    "user":{"uid":5,"gid":6},"terminal":false})");
  BOOST_REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  BOOST_TEST(p->args.size() == 2u);
  BOOST_TEST(p->user.uid == 5u);
  auto bad = spec::parse_process(R"({"args":["ls"],"cwd":"rel"})");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message().rfind("process.cwd:", 0) == 0);
}

BOOST_AUTO_TEST_CASE(bundle_loading_and_rootfs_path) {
  char tmpl[] = "/tmp/gantry-spec-test-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(tmpl));
  std::filesystem::path dir(tmpl);
  auto missing = spec::load_bundle_spec(dir);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().kind() == ErrorKind::not_found);
  { std::ofstream(dir / "config.json") << "{\"ociVersion\": \"1.0.0\"}"; }
  auto bad = spec::load_bundle_spec(dir);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message().find((dir / "config.json").string()) != std::string::npos);
  BOOST_TEST(bad.error().message().find("root: required") != std::string::npos);
  { std::ofstream(dir / "config.json") << spec::default_spec_json(false); }
  auto good = spec::load_bundle_spec(dir);
  BOOST_REQUIRE(good);
  BOOST_TEST(spec::rootfs_path(*good, dir) == dir / "rootfs");
  good->root.path = "/abs/./root";
  BOOST_TEST(spec::rootfs_path(*good, dir) == "/abs/root");
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(namespace_helpers) {
  BOOST_TEST(spec::to_string(spec::NamespaceType::network) == "network");
  BOOST_TEST(spec::proc_ns_name(spec::NamespaceType::network) == "net");
  BOOST_TEST(spec::proc_ns_name(spec::NamespaceType::mount) == "mnt");
  BOOST_TEST(spec::clone_flag(spec::NamespaceType::mount) == CLONE_NEWNS);
  BOOST_TEST(spec::clone_flag(spec::NamespaceType::user) == CLONE_NEWUSER);
  BOOST_TEST(spec::clone_flag(spec::NamespaceType::cgroup) == CLONE_NEWCGROUP);
}

BOOST_AUTO_TEST_SUITE_END()
