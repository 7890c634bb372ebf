// What later invocations need from a container's create: its config (the copy kept in the
// state directory, so editing the bundle afterwards changes nothing) and its cgroup.
#pragma once

#include <string>

#include "model/base/result.h"
#include "runtime/cgroup/cgroup.h"
#include "runtime/oci/spec/spec.h"
#include "runtime/oci/state.h"

namespace gantry::runtime::oci {

// The parsed copy of config.json kept at create.
Result<spec::Spec> load_stored_spec(const StateStore& store, const std::string& id);

// The container's cgroup, rebuilt from the path resolved at create.
Result<cgroup::Manager> manager_for(const Record& record);

// The real FrozenProbe: the container's freezer is frozen or freezing.
bool cgroup_frozen(const Record& record);

}  // namespace gantry::runtime::oci
