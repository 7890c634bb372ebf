// The commands of the `gantry` program, one function per command. gantry_main.cpp parses the
// command line into these structs; each function prints its own errors ("gantry unpack: ...")
// and returns the process's exit status.
#pragma once

#include <string>

namespace gantry::cli {

struct GlobalOptions {
  std::string root;  // state: snapshots and mount records (GANTRY_ROOT, else /var/lib/gantry)
};

struct ImportArgs {
  std::string dir;
  std::string image;
  std::string compression = "gzip";
};
int run_import(const GlobalOptions& g, const ImportArgs& a);

// Flags shared by the commands that talk to registries.
struct RegistryFlags {
  std::string creds;  // USER:PASSWORD; empty: the docker config file
  bool tls_verify = true;
  bool insecure = false;  // plain http
  std::string authfile;   // empty: $DOCKER_CONFIG/config.json or ~/.docker/config.json
};

struct UnpackArgs {
  std::string image;
  std::string dir;
  RegistryFlags registry;  // docker:// sources
  std::string platform;    // os/arch[/variant]; empty: this machine's
  bool quiet = false;
};
int run_unpack(const GlobalOptions& g, const UnpackArgs& a);

struct MountArgs {
  std::string snapshotter = "overlay";
  std::string image;
  std::string dir;
};
int run_mount(const GlobalOptions& g, const MountArgs& a);

struct UmountArgs {
  std::string dir;
};
int run_umount(const GlobalOptions& g, const UmountArgs& a);

struct RepackArgs {
  std::string dir;
  std::string image;
  std::string compression = "gzip";
};
int run_repack(const GlobalOptions& g, const RepackArgs& a);

struct LayersArgs {
  std::string image;
};
int run_layers(const GlobalOptions& g, const LayersArgs& a);

// gantry copy SRC DST: skopeo's transports (oci:, docker://, docker-archive:).
struct CopyArgs {
  std::string source;
  std::string destination;
  RegistryFlags src;
  RegistryFlags dest;
  std::string platform;
  bool all = false;  // every platform of an index, also from a registry
  bool quiet = false;
  int transfers = 4;
};
int run_copy(const GlobalOptions& g, const CopyArgs& a);

struct LoginArgs {
  std::string registry = "docker.io";
  std::string username;
  std::string password;
  bool password_stdin = false;
  RegistryFlags flags;
};
int run_login(const GlobalOptions& g, const LoginArgs& a);

struct LogoutArgs {
  std::string registry = "docker.io";
  std::string authfile;
};
int run_logout(const GlobalOptions& g, const LogoutArgs& a);

}  // namespace gantry::cli
