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

struct UnpackArgs {
  std::string image;
  std::string dir;
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

}  // namespace gantry::cli
