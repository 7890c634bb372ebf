// gantry-oci: an OCI runtime with runc's command line (runc 1.1's commands, flags, short forms and
// defaults), so podman (through conmon) and containerd (through containerd-shim-runc-v2) can use
// it in place of runc. The operations live in runtime/oci; this file only parses the command
// line (the one translation unit that includes CLI11), reports errors in runc's log format and
// picks the exit code (1 on any error; run and exec exit with the container process's status).
//
// As runc (urfave/cli), global flags go before the command; command flags may follow the
// positional arguments, except for exec and ps, where everything after the id belongs to the
// command run or to ps(1).
#include <seccomp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/oci/cgroup_warmup.h"
#include "runtime/oci/logging.h"
#include "runtime/oci/memfd_exe.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"

extern char** environ;

namespace oci = gantry::runtime::oci;

namespace {

constexpr const char* kVersion = "0.1.0";

struct Globals {
  bool debug = false;
  std::string log;
  std::string log_format = "text";
  std::string root = "/run/gantry-oci";
  std::string criu = "criu";
  bool systemd_cgroup = false;
  std::string rootless = "auto";
};

std::string version_text() {
  const scmp_version* v = seccomp_version();
  std::string out = std::string("gantry-oci version ") + kVersion + "\n";
  out += "spec: " + std::string(oci::kOciVersion) + "\n";
  if (v) {
    out += "libseccomp: " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->micro) + "\n";
  }
  return out;
}

// urfave/cli accepts "-root" for "--root": rewrite the global flags spelled that way.
std::vector<std::string> normalize_args(int argc, char** argv) {
  static const std::set<std::string> kLongGlobals = {"debug",          "log",  "log-format",
                                                     "root",           "criu", "rootless",
                                                     "systemd-cgroup", "help", "version"};
  std::vector<std::string> args;
  bool in_globals = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (in_globals && a.size() > 2 && a[0] == '-' && a[1] != '-') {
      std::string name =
          a.substr(1, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 1);
      if (kLongGlobals.count(name)) a = "-" + a;
    }
    if (in_globals && !a.empty() && a[0] != '-') {
      // The value of a global flag, or the command.
      bool is_value = !args.empty() && (args.back() == "--log" || args.back() == "--log-format" ||
                                        args.back() == "--root" || args.back() == "--criu" ||
                                        args.back() == "--rootless");
      if (!is_value) in_globals = false;
    }
    args.push_back(a);
  }
  return args;
}

// Best effort, before parsing succeeds: where a usage error should be logged.
oci::LogOptions log_options_from(const std::vector<std::string>& args) {
  oci::LogOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    auto take = [&](const std::string& name, std::string& into) {
      if (args[i] == name && i + 1 < args.size()) into = args[i + 1];
      if (args[i].rfind(name + "=", 0) == 0) into = args[i].substr(name.size() + 1);
    };
    std::string fmt;
    take("--log", o.file);
    take("--log-format", fmt);
    if (fmt == "json") o.format = oci::LogFormat::json;
    if (args[i] == "--debug") o.debug = true;
    if (!args[i].empty() && args[i][0] != '-' && (i == 0 || args[i - 1].rfind("--log", 0) != 0) &&
        (i == 0 ||
         (args[i - 1] != "--root" && args[i - 1] != "--criu" && args[i - 1] != "--rootless"))) {
      break;  // the command: its flags are its own
    }
  }
  return o;
}

int report(const gantry::Error& error) {
  oci::log_error(error.to_string());
  return 1;
}

int report(const gantry::Result<void>& r) {
  return r ? 0 : report(r.error());
}

// Go's time.ParseDuration for what people write: "5s", "100ms", "1m30s", "2h".
gantry::Result<int> parse_duration_ms(const std::string& text) {
  double total_ms = 0;
  size_t i = 0;
  if (text.empty()) return gantry::Error(gantry::ErrorKind::invalid_argument, "empty duration");
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (start == i) break;
    double v = std::stod(text.substr(start, i - start));
    size_t u = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(u, i - u);
    if (unit == "ns") {
      total_ms += v / 1e6;
    } else if (unit == "us" || unit == "µs") {
      total_ms += v / 1e3;
    } else if (unit == "ms") {
      total_ms += v;
    } else if (unit == "s") {
      total_ms += v * 1e3;
    } else if (unit == "m") {
      total_ms += v * 60e3;
    } else if (unit == "h") {
      total_ms += v * 3600e3;
    } else {
      i = std::string::npos;
      break;
    }
  }
  if (i != text.size()) {
    return gantry::Error(gantry::ErrorKind::invalid_argument, "invalid duration \"" + text + "\"");
  }
  return static_cast<int>(total_ms);
}

// Everything between parsing and acting: logging, the checks of the global flags, the store.
struct Program {
  Globals g;
  int status = 0;

  gantry::Result<oci::StateStore> store() const {
    if (g.systemd_cgroup) {
      return gantry::Error(gantry::ErrorKind::not_implemented,
                           "--systemd-cgroup: not supported (gantry-oci manages cgroupfs "
                           "directly; there is no systemd here)");
    }
    if (g.rootless != "auto" && g.rootless != "true" && g.rootless != "false") {
      return gantry::Error(gantry::ErrorKind::invalid_argument,
                           "invalid value for --rootless: " + g.rootless);
    }
    return oci::StateStore(g.root, oci::cgroup_frozen);
  }

  // Runs an operation: the store, then the action, errors logged, exit code chosen.
  template <class F>
  void act(F&& f) {
    auto s = store();
    if (!s) {
      status = report(s.error());
      return;
    }
    status = f(*s);
  }
};

// create, run and exec run from a protected view of this program (CVE-2019-5736, see
// memfd_exe.h). The overlay's empty lower layer is <root>/.exe-layer.XXXXXX, made and removed
// during the call (not a valid container id, so never listed as one). Sets warmup to the
// cgroup warmup child (cgroup_warmup.h): started just before the re-execution and handed over
// to the re-executed program (the child's copy of the view's mount descriptor makes it, not
// the exec, pay for dissolving the mount), or started here when there is no re-execution.
int reexec_sealed(char** argv, const std::string& root, pid_t& warmup) {
  // The store makes the root too and reports a failure; here one only means the memfd copy.
  std::error_code ignored;
  std::filesystem::create_directories(root, ignored);
  warmup = oci::adopt_cgroup_warmup();
  pid_t started = -1;
  auto r = oci::ensure_running_from_sealed_copy(argv, nullptr,
                                                std::filesystem::path(root) / ".exe-layer", [&] {
                                                  started = oci::start_cgroup_warmup();
                                                  oci::hand_over_cgroup_warmup(started);
                                                });
  // Still here: already protected, or no exec worked.
  ::unsetenv(oci::kWarmupEnv);
  if (warmup < 0) warmup = started >= 0 ? started : oci::start_cgroup_warmup();
  return r ? 0 : report(r.error());
}

// create and run re-execute themselves before the command line is parsed: the first image only
// needs the command and --root, and building the whole parser costs ~0.3 ms per image. The
// global flags before the command are read here as normalize_args leaves them; anything else
// there (--help, --version, an unknown flag) leaves the re-execution to the command's callback.
std::optional<std::string> early_reexec_root(const std::vector<std::string>& args) {
  std::string root = Globals{}.root;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "run" || a == "create") return root.empty() ? std::nullopt : std::optional(root);
    if (a == "--debug" || a == "--systemd-cgroup") continue;
    bool takes_value = false;
    for (const char* name : {"--root", "--log", "--log-format", "--criu", "--rootless"}) {
      std::string n = name;
      if (a == n) {
        if (i + 1 >= args.size()) return std::nullopt;
        if (n == "--root") root = args[i + 1];
        ++i;
        takes_value = true;
      } else if (a.rfind(n + "=", 0) == 0) {
        if (n == "--root") root = a.substr(n.size() + 1);
        takes_value = true;
      }
      if (takes_value) break;
    }
    if (!takes_value) return std::nullopt;
  }
  return std::nullopt;
}

// What the early re-execution left when it returned (already protected, or no exec worked).
struct EarlyReexec {
  bool done = false;
  int status = 0;
  pid_t warmup = -1;
};

void add_create_flags(CLI::App* c, oci::CreateOptions& o) {
  c->add_option("--bundle,-b", o.bundle,
                "path to the root of the bundle directory, defaults to the current directory")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  c->add_option("--console-socket", o.console_socket,
                "path to an AF_UNIX socket which will receive a file descriptor referencing the "
                "master end of the console's pseudoterminal")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  c->add_option("--pid-file", o.pid_file, "specify the file to write the process id to")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  c->add_flag("--no-pivot", o.no_pivot, "not supported (gantry-oci always uses pivot_root)");
  c->add_flag("--no-new-keyring", o.no_new_keyring,
              "accepted: gantry-oci never creates a session keyring");
  c->add_option(
       "--preserve-fds", o.preserve_fds,
       "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)")
      ->capture_default_str();
  c->add_option("container-id", o.id, "the container's id")->required();
}

}  // namespace

int main(int argc, char** argv) {
  auto args = normalize_args(argc, argv);
  Program p;
  Globals& g = p.g;
  EarlyReexec early;
  if (auto root = early_reexec_root(args)) {
    // Where a failure of the re-execution is reported, as for a usage error.
    (void)oci::configure_logging(log_options_from(args));
    early.status = reexec_sealed(argv, *root, early.warmup);
    early.done = true;
  }
  auto sealed = [&](pid_t& warmup) {
    if (!early.done) return reexec_sealed(argv, g.root, warmup);
    warmup = early.warmup;
    return early.status;
  };

  CLI::App app{"gantry-oci: an Open Container Initiative runtime with runc's command line"};
  app.name("gantry-oci");
  app.require_subcommand(1);
  app.set_version_flag("--version,-v", version_text(), "print the version");
  app.add_flag("--debug", g.debug, "enable debug logging");
  app.add_option("--log", g.log,
                 "set the log file to write gantry-oci logs to (default is '/dev/stderr')")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--log-format", g.log_format, "set the log format ('text' (default), or 'json')")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--root", g.root,
                 "root directory for storage of container state (this should be located in tmpfs)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--criu", g.criu, "accepted and unused: checkpoint and restore are not supported")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "not supported (an error when given)");
  app.add_option("--rootless", g.rootless,
                 "ignore cgroup permission errors ('true', 'false', or 'auto')")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  // create
  oci::CreateOptions create_opts;
  auto* c = app.add_subcommand("create", "create a container");
  add_create_flags(c, create_opts);
  c->callback([&] {
    if ((p.status = sealed(create_opts.cgroup_warmup_pid)) != 0) return;
    p.act([&](oci::StateStore& s) { return report(oci::create(s, create_opts)); });
  });

  // run
  oci::RunOptions run_opts;
  c = app.add_subcommand("run", "create and run a container");
  add_create_flags(c, run_opts.create);
  c->add_flag("--detach,-d", run_opts.detach, "detach from the container's process");
  c->add_flag("--keep", run_opts.keep, "do not delete the container after it exits");
  c->add_flag("--no-subreaper", run_opts.no_subreaper,
              "disable the use of the subreaper used to reap reparented processes");
  c->callback([&] {
    if ((p.status = sealed(run_opts.create.cgroup_warmup_pid)) != 0) return;
    p.act([&](oci::StateStore& s) {
      auto r = oci::run(s, run_opts);
      return r ? *r : report(r.error());
    });
  });

  // start, state, pause, resume: just an id
  std::string id_start, id_state, id_pause, id_resume;
  c = app.add_subcommand("start", "executes the user defined process in a created container");
  c->add_option("container-id", id_start)->required();
  c->callback([&] { p.act([&](oci::StateStore& s) { return report(oci::start(s, id_start)); }); });

  c = app.add_subcommand("state", "output the state of a container");
  c->add_option("container-id", id_state)->required();
  c->callback([&] {
    p.act([&](oci::StateStore& s) {
      auto r = oci::state(s, id_state);
      if (!r) return report(r.error());
      std::cout << *r << std::flush;
      return 0;
    });
  });

  c = app.add_subcommand("pause", "pause suspends all processes inside the container");
  c->add_option("container-id", id_pause)->required();
  c->callback([&] { p.act([&](oci::StateStore& s) { return report(oci::pause(s, id_pause)); }); });

  c = app.add_subcommand("resume", "resumes all processes that have been previously paused");
  c->add_option("container-id", id_resume)->required();
  c->callback(
      [&] { p.act([&](oci::StateStore& s) { return report(oci::resume(s, id_resume)); }); });

  // kill
  oci::KillOptions kill_opts;
  c = app.add_subcommand("kill",
                         "kill sends the specified signal (default: SIGTERM) to the "
                         "container's init process");
  c->add_flag("--all,-a", kill_opts.all,
              "send the specified signal to all processes inside the container");
  c->add_option("container-id", kill_opts.id)->required();
  c->add_option("signal", kill_opts.signal, "KILL, SIGKILL, 9, ... (default: SIGTERM)");
  c->callback([&] { p.act([&](oci::StateStore& s) { return report(oci::kill(s, kill_opts)); }); });

  // delete
  std::string id_delete;
  bool force_delete = false;
  c = app.add_subcommand("delete",
                         "delete any resources held by the container often used with "
                         "detached container");
  c->add_flag("--force,-f", force_delete,
              "Forcibly deletes the container if it is still running (uses SIGKILL)");
  c->add_option("container-id", id_delete)->required();
  c->callback([&] {
    p.act([&](oci::StateStore& s) {
      return report(oci::delete_container(s, id_delete, force_delete));
    });
  });

  // exec
  oci::ExecOptions exec_opts;
  std::vector<std::string> exec_positionals;
  c = app.add_subcommand("exec", "execute new process inside the container");
  c->positionals_at_end();
  c->add_option("--console-socket", exec_opts.console_socket,
                "path to an AF_UNIX socket which will receive the pty master");
  c->add_option("--cwd", exec_opts.cwd, "current working directory in the container");
  c->add_option("--env,-e", exec_opts.env, "set environment variables")->allow_extra_args(false);
  c->add_flag("--tty,-t", exec_opts.tty, "allocate a pseudo-TTY");
  c->add_option("--user,-u", exec_opts.user, "UID (format: <uid>[:<gid>])");
  c->add_option("--additional-gids,-g", exec_opts.additional_gids, "additional gids")
      ->allow_extra_args(false);
  c->add_option("--process,-p", exec_opts.process_file, "path to the process.json");
  c->add_flag("--detach,-d", exec_opts.detach, "detach from the container's process");
  c->add_option("--pid-file", exec_opts.pid_file, "specify the file to write the process id to");
  c->add_option("--process-label", exec_opts.process_label,
                "set the asm process label for the process commonly used with selinux");
  c->add_option("--apparmor", exec_opts.apparmor, "set the apparmor profile for the process");
  c->add_flag("--no-new-privs", exec_opts.no_new_privs,
              "set the no new privileges value for the process");
  c->add_option("--cap,-c", exec_opts.caps, "add a capability to the bounding set for the process")
      ->allow_extra_args(false);
  c->add_option(
       "--preserve-fds", exec_opts.preserve_fds,
       "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)")
      ->capture_default_str();
  c->add_option("--cgroup", exec_opts.cgroup, "not supported (an error when given)")
      ->allow_extra_args(false);
  c->add_flag("--ignore-paused", exec_opts.ignore_paused, "allow exec in a paused container");
  c->add_option("args", exec_positionals, "<container-id> <command> [args...]")->required();
  c->callback([&] {
    exec_opts.id = exec_positionals.front();
    exec_opts.args.assign(exec_positionals.begin() + 1, exec_positionals.end());
    if ((p.status = reexec_sealed(argv, g.root, exec_opts.cgroup_warmup_pid)) != 0) return;
    p.act([&](oci::StateStore& s) {
      auto r = oci::exec(s, exec_opts);
      return r ? *r : report(r.error());
    });
  });

  // ps
  oci::PsOptions ps_opts;
  std::vector<std::string> ps_positionals;
  c = app.add_subcommand("ps", "ps displays the processes running inside a container");
  c->positionals_at_end();
  c->add_option("--format,-f", ps_opts.format, "select one of: table or json")
      ->capture_default_str();
  c->add_option("args", ps_positionals, "<container-id> [ps options]")->required();
  c->callback([&] {
    ps_opts.id = ps_positionals.front();
    ps_opts.ps_args.assign(ps_positionals.begin() + 1, ps_positionals.end());
    if (!ps_opts.ps_args.empty() && ps_opts.ps_args.front() == "--") {
      ps_opts.ps_args.erase(ps_opts.ps_args.begin());
    }
    p.act([&](oci::StateStore& s) {
      auto r = oci::ps(s, ps_opts);
      if (!r) return report(r.error());
      std::cout << *r << std::flush;
      return 0;
    });
  });

  // events
  oci::EventsOptions events_opts;
  std::string interval = "5s";
  c = app.add_subcommand("events",
                         "display container events such as OOM notifications, cpu, "
                         "memory, and IO usage statistics");
  c->add_option("--interval", interval, "set the stats collection interval")->capture_default_str();
  c->add_flag("--stats", events_opts.stats, "display the container's stats then exit");
  c->add_option("container-id", events_opts.id)->required();
  c->callback([&] {
    p.act([&](oci::StateStore& s) {
      auto ms = parse_duration_ms(interval);
      if (!ms) return report(ms.error());
      events_opts.interval_ms = *ms;
      return report(oci::events(s, events_opts, std::cout));
    });
  });

  // update
  oci::UpdateOptions update_opts;
  std::map<std::string, std::string> update_values;
  c = app.add_subcommand("update", "update container resource constraints");
  c->add_option("--resources,-r", update_opts.resources_file,
                "path to the file containing the resources to update or '-' to read from the "
                "standard input");
  const std::vector<std::pair<std::string, std::string>> update_flags = {
      {"blkio-weight", "Specifies per cgroup weight, range is from 10 to 1000 (not supported)"},
      {"cpu-period", "CPU CFS period to be used for hardcapping (in usecs)"},
      {"cpu-quota", "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
      {"cpu-share", "CPU shares (relative weight vs. other containers)"},
      {"cpu-shares", "alias of --cpu-share"},
      {"cpu-rt-period", "CPU realtime period to be used for hardcapping (in usecs)"},
      {"cpu-rt-runtime", "CPU realtime hardcap limit (in usecs)"},
      {"cpuset-cpus", "CPU(s) to use"},
      {"cpuset-mems", "Memory node(s) to use"},
      {"memory", "Memory limit (in bytes; k, m, g suffixes accepted)"},
      {"memory-reservation", "Memory reservation or soft_limit (in bytes)"},
      {"memory-swap", "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
      {"kernel-memory", "Kernel memory limit (in bytes)"},
      {"kernel-memory-tcp", "Kernel memory limit for tcp buffer (in bytes)"},
      {"pids-limit", "Maximum number of pids allowed in the container"},
      {"l3-cache-schema", "The string of Intel RDT/CAT L3 cache schema (not supported)"},
      {"mem-bw-schema", "The string of Intel RDT/MBA memory bandwidth schema (not supported)"},
  };
  for (const auto& [name, help] : update_flags) {
    c->add_option("--" + name, update_values[name], help);
  }
  c->add_option("container-id", update_opts.id)->required();
  c->callback([&, c] {
    for (const auto& [name, help] : update_flags) {
      if (c->count("--" + name) > 0) update_opts.flags[name] = update_values[name];
    }
    p.act([&](oci::StateStore& s) { return report(oci::update(s, update_opts)); });
  });

  // list
  oci::ListOptions list_opts;
  c = app.add_subcommand("list", "lists containers started by gantry-oci with the given root");
  c->add_option("--format,-f", list_opts.format, "select one of: table or json")
      ->capture_default_str();
  c->add_flag("--quiet,-q", list_opts.quiet, "display only container IDs");
  c->callback([&] {
    p.act([&](oci::StateStore& s) {
      auto r = oci::list(s, list_opts);
      if (!r) return report(r.error());
      std::cout << *r << std::flush;
      return 0;
    });
  });

  // features, spec
  c = app.add_subcommand("features", "show the enabled features");
  c->callback([&] { std::cout << oci::features() << std::flush; });

  oci::SpecOptions spec_opts;
  c = app.add_subcommand("spec", "create a new specification file");
  c->add_option("--bundle,-b", spec_opts.bundle, "path to the root of the bundle directory");
  c->add_flag("--rootless", spec_opts.rootless,
              "generate a configuration for a rootless container");
  c->callback([&] { p.status = report(oci::write_spec(spec_opts)); });

  // checkpoint, restore: named so that callers get a clear answer.
  for (const char* name : {"checkpoint", "restore"}) {
    c = app.add_subcommand(name, std::string(name) + " (not supported: gantry-oci has no CRIU)");
    c->allow_extras();
    c->callback([&p, name] {
      p.status = report(gantry::Error(gantry::ErrorKind::not_implemented,
                                      std::string(name) + ": not supported by gantry-oci"));
    });
  }

  // help, h
  std::vector<std::string> help_topic;
  c = app.add_subcommand("help", "Shows a list of commands or help for one command");
  c->alias("h");
  c->add_option("command", help_topic);
  c->callback([&] {
    if (!help_topic.empty()) {
      try {
        std::cout << app.get_subcommand(help_topic.front())->help();
        return;
      } catch (const CLI::OptionNotFound&) {
        p.status = report(gantry::Error(gantry::ErrorKind::invalid_argument,
                                        "No help topic for '" + help_topic.front() + "'"));
        return;
      }
    }
    std::cout << app.help();
  });

  // Logging is set up as soon as the global flags are known, before any command runs.
  app.parse_complete_callback([&] {
    auto format = oci::parse_log_format(g.log_format);
    auto configured = format ? oci::configure_logging({g.log, *format, g.debug})
                             : gantry::Result<void>(format.error());
    if (!configured) throw CLI::ValidationError("--log", configured.error().to_string());
  });

  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)oci::configure_logging(
        log_options_from(std::vector<std::string>(args.rbegin(), args.rend())));
    oci::log_error(e.what());
    return 1;
  }
  return p.status;
}
