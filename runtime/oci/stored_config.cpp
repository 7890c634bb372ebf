#include "runtime/oci/stored_config.h"

namespace gantry::runtime::oci {

Result<spec::Spec> load_stored_spec(const StateStore& store, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(std::string text, store.read_config(id));
  GANTRY_ASSIGN_OR_RETURN_CTX(spec::Spec s, spec::parse_spec(text), "stored config of " + id);
  return s;
}

Result<cgroup::Manager> manager_for(const Record& record) {
  GANTRY_ASSIGN_OR_RETURN_CTX(cgroup::Manager m,
                              cgroup::Manager::open(record.cgroups_path, record.id),
                              "cgroup of " + record.id);
  return m;
}

bool cgroup_frozen(const Record& record) {
  if (record.cgroups_path.empty()) return false;
  auto manager = manager_for(record);
  if (!manager) return false;
  auto freezer = manager->freezer_state();
  return freezer && *freezer != cgroup::FreezerState::thawed;
}

}  // namespace gantry::runtime::oci
