// gantry-registry: the OCI distribution registry server (runtime/registry/server over
// runtime/registry/store). This file reads the command line and the config file (the one
// translation unit that includes CLI11), starts the server, the periodic garbage collection and
// the signal watcher, and prints where it listens.
//
//   gantry-registry serve --addr HOST:PORT --root DIR [--config FILE] [--htpasswd FILE]
//       [--tls-cert PEM --tls-key PEM] [--no-delete] [--no-tag-delete] [--gc-interval SECONDS]
//       [--threads N] [--no-fsync] [--token-realm URL --token-service NAME --token-issuer NAME
//       --token-key PEM [--token-server [--token-acl FILE]]] [--access-log]
//   gantry-registry gc --root DIR
#include <signal.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/registry/server/auth.h"
#include "runtime/registry/server/net/http_server.h"
#include "runtime/registry/server/request_handler.h"
#include "runtime/registry/store/registry_store.h"

namespace registry = gantry::runtime::registry;
namespace server = gantry::runtime::registry::server;
using gantry::Error;
using gantry::ErrorKind;
using gantry::Result;

namespace {

struct Settings {
  std::string addr = "127.0.0.1:5000";
  std::string root;
  std::string config;
  std::string htpasswd;
  std::string tls_cert, tls_key;
  bool no_delete = false;
  bool no_tag_delete = false;
  uint64_t gc_interval_seconds = 0;
  unsigned threads = 0;
  bool no_fsync = false;
  std::string token_realm, token_service, token_issuer, token_key, token_acl;
  bool token_server = false;
  bool access_log = false;
};

void log(const std::string& line) {
  std::cerr << "gantry-registry: " + line + "\n";
}

// Fills every setting the command line left alone from the JSON config file (same keys as
// the flags, without the dashes: {"addr": "...", "no-delete": true, "gc-interval": 60}).
Result<void> apply_config(CLI::App& serve, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorKind::not_found, "cannot read config " + path);
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (!json.is_object())
    return Error(ErrorKind::invalid_argument, "config " + path + ": not a JSON object");
  for (const auto& [key, value] : json.items()) {
    CLI::Option* opt = nullptr;
    try {
      opt = serve.get_option("--" + key);
    } catch (const CLI::OptionNotFound&) {
    }
    if (opt == nullptr || key == "config")
      return Error(ErrorKind::invalid_argument, "config " + path + ": unknown key '" + key + "'");
    if (opt->count() > 0) continue;  // the command line wins
    std::string text;
    if (value.is_boolean()) {
      if (!value.get<bool>()) continue;
      text = "true";
    } else if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_number_unsigned()) {
      text = std::to_string(value.get<uint64_t>());
    } else {
      return Error(ErrorKind::invalid_argument,
                   "config " + path + ": key '" + key + "' has the wrong type");
    }
    try {
      opt->add_result(text);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      return Error(ErrorKind::invalid_argument,
                   "config " + path + ": key '" + key + "': " + e.what());
    }
  }
  return gantry::ok();
}

Result<std::pair<std::string, uint16_t>> split_addr(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos)
    return Error(ErrorKind::invalid_argument, "--addr '" + addr + "': expected HOST:PORT");
  std::string host = addr.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(addr.substr(colon + 1), &used);
    if (used != addr.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return Error(ErrorKind::invalid_argument, "--addr '" + addr + "': bad port");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

registry::StoreOptions store_options(const Settings& s) {
  registry::StoreOptions o;
  o.deletion = !s.no_delete;
  o.tag_deletion = !s.no_tag_delete;
  o.durable = !s.no_fsync;
  return o;
}

void log_gc(const registry::GcReport& r) {
  log("gc: removed " + std::to_string(r.blobs_removed) + " blobs (" +
      std::to_string(r.bytes_removed) + " bytes), kept " + std::to_string(r.blobs_kept) +
      ", expired " + std::to_string(r.sessions_expired) + " upload sessions");
}

// Runs collect_garbage every interval until stopped.
class GcLoop {
 public:
  GcLoop(registry::RegistryStore& store, std::chrono::seconds interval)
      : thread_([this, &store, interval] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
            lock.unlock();
            auto report = store.collect_garbage();
            if (report)
              log_gc(*report);
            else
              log("gc failed: " + report.error().message());
            lock.lock();
          }
        }) {}
  ~GcLoop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

int serve(const Settings& s) {
  auto addr = split_addr(s.addr);
  if (!addr) return log(addr.error().message()), 2;
  if (s.root.empty()) return log("--root is required"), 2;

  // SIGTERM and SIGINT are taken by a watcher thread; every other thread has them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // sendfile to a client that went away

  auto store = registry::RegistryStore::open(s.root, store_options(s));
  if (!store) return log("open " + s.root + ": " + store.error().message()), 1;

  server::AuthOptions auth_options;
  auth_options.htpasswd = s.htpasswd;
  auth_options.token_realm = s.token_realm;
  auth_options.token_service = s.token_service;
  auth_options.token_issuer = s.token_issuer;
  auth_options.token_key = s.token_key;
  auth_options.token_server = s.token_server;
  auth_options.token_acl = s.token_acl;
  auto auth = server::Authenticator::create(auth_options);
  if (!auth) return log(auth.error().message()), 2;

  server::RequestHandler handler(**store, auth->get());
  server::ServerOptions options;
  options.host = addr->first;
  options.port = addr->second;
  options.threads = s.threads;
  options.tls_cert = s.tls_cert;
  options.tls_key = s.tls_key;
  options.access_log = s.access_log;
  auto http = server::HttpServer::create(handler, options);
  if (!http) return log(http.error().message()), 1;

  std::optional<GcLoop> gc;
  if (s.gc_interval_seconds > 0) gc.emplace(**store, std::chrono::seconds(s.gc_interval_seconds));

  std::thread watcher([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig != 0) log(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    (*http)->stop();
  });

  std::string shown = addr->first == "0.0.0.0" || addr->first == "::" ? "127.0.0.1" : addr->first;
  std::cout << "listening on " << ((*http)->tls() ? "https://" : "http://") << shown << ":"
            << (*http)->port() << std::endl;
  (*http)->run();

  // run() also returns when the watcher was not the reason (it never is today); wake it.
  ::pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  gc.reset();
  http->reset();  // connections (and their pending uploads) go before the store
  return 0;
}

int gc_offline(const Settings& s) {
  auto store = registry::RegistryStore::open(s.root, store_options(s));
  if (!store) return log("open " + s.root + ": " + store.error().message()), 1;
  auto report = (*store)->collect_garbage();
  if (!report) return log("gc: " + report.error().message()), 1;
  log_gc(*report);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gantry-registry: an OCI distribution registry"};
  app.require_subcommand(1);
  Settings s;

  CLI::App* serve_cmd = app.add_subcommand("serve", "serve the registry over HTTP(S)");
  serve_cmd->add_option("--addr", s.addr, "HOST:PORT to listen on (port 0: any free port)");
  serve_cmd->add_option("--root", s.root, "storage directory");
  serve_cmd->add_option("--config", s.config, "JSON file with the same keys as these flags");
  serve_cmd->add_option("--htpasswd", s.htpasswd, "basic auth users (bcrypt, htpasswd -B)");
  serve_cmd->add_option("--tls-cert", s.tls_cert, "PEM certificate chain (HTTPS)");
  serve_cmd->add_option("--tls-key", s.tls_key, "PEM private key (HTTPS)");
  serve_cmd->add_flag("--no-delete", s.no_delete, "refuse every DELETE (405 UNSUPPORTED)");
  serve_cmd->add_flag("--no-tag-delete", s.no_tag_delete, "refuse DELETE of a manifest by tag");
  serve_cmd->add_option("--gc-interval", s.gc_interval_seconds,
                        "collect garbage every SECONDS while serving (0: never)");
  serve_cmd->add_option("--threads", s.threads, "I/O threads (default: one per CPU)");
  serve_cmd->add_flag("--no-fsync", s.no_fsync, "acknowledge without fsync (benchmarks only)");
  serve_cmd->add_option("--token-realm", s.token_realm, "bearer auth: the token server's URL");
  serve_cmd->add_option("--token-service", s.token_service, "bearer auth: service (audience)");
  serve_cmd->add_option("--token-issuer", s.token_issuer, "bearer auth: issuer of tokens");
  serve_cmd->add_option("--token-key", s.token_key,
                        "bearer auth: PEM key (private to sign with --token-server)");
  serve_cmd->add_flag("--token-server", s.token_server,
                      "also serve GET /token (checks --htpasswd, signs with --token-key)");
  serve_cmd->add_option("--token-acl", s.token_acl,
                        "token server: JSON access rules (account, type, name, actions); "
                        "without it every authenticated client gets what it asks for");
  serve_cmd->add_flag("--access-log", s.access_log, "log every request on stderr");

  CLI::App* gc_cmd = app.add_subcommand("gc", "collect garbage offline");
  gc_cmd->add_option("--root", s.root, "storage directory")->required();
  gc_cmd->add_flag("--no-fsync", s.no_fsync, "do not fsync");

  try {
    app.parse(argc, argv);
    if (serve_cmd->parsed() && !s.config.empty())
      if (auto c = apply_config(*serve_cmd, s.config); !c) {
        log(c.error().message());
        return 2;
      }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve_cmd->parsed()) return serve(s);
  return gc_offline(s);
}
