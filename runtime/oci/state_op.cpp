// `state ID`: the runtime-spec's state document, with runc's extra fields (rootfs, created,
// owner) because containerd (go-runc's State) and podman read them.
#include <string>

#include "runtime/oci/operations.h"

namespace gantry::runtime::oci {

nlohmann::ordered_json state_document(const Container& c) {
  nlohmann::ordered_json j;
  j["ociVersion"] = kOciVersion;
  j["id"] = c.record.id;
  j["pid"] = c.live_pid();
  j["status"] = api::to_string(c.state);
  j["bundle"] = c.record.bundle;
  j["rootfs"] = c.record.rootfs;
  j["created"] = c.record.created;
  j["owner"] = c.record.owner;
  if (!c.record.annotations.empty()) j["annotations"] = c.record.annotations;
  return j;
}

Result<std::string> state(StateStore& store, const std::string& id) {
  // Reading needs no lock: state.json is replaced atomically.
  GANTRY_ASSIGN_OR_RETURN(Container c, store.load(id));
  return state_document(c).dump(2) + "\n";
}

}  // namespace gantry::runtime::oci
