// gantry-fuse: our union filesystem. See runtime/fuse/options.h for the command line.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "runtime/fuse/options.h"
#include "runtime/fuse/server.h"

int main(int argc, char** argv) {
  using namespace gantry::runtime::fuse;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto opts = parse_args(args);
  if (!opts) {
    std::cerr << "gantry-fuse: " << opts.error().to_string() << "\n"
              << "usage: gantry-fuse -o lowerdir=A:B[,upperdir=U][,ro] [--pid-file P] "
                 "[--foreground] MOUNTPOINT\n";
    return 2;
  }
  auto role = serve(*opts);
  if (!role) {
    std::cerr << "gantry-fuse: " << role.error().to_string() << "\n";
    return 1;
  }
  // The starter leaves the session to the server it forked: it ends without running
  // destructors or exit handlers that would see that session as its own (or as a leak).
  if (*role == Role::starter_done) {
    std::cout.flush();
    _exit(0);
  }
  return 0;
}
