#include "runtime/unpack/chain_id.h"

namespace gantry::runtime::unpack {

std::vector<Digest> chain_ids(std::span<const Digest> diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  for (const Digest& d : diff_ids) {
    out.push_back(out.empty() ? d : Digest::of(out.back().str() + " " + d.str()));
  }
  return out;
}

}  // namespace gantry::runtime::unpack
