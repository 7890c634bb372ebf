// RapidCheck generators of registry operations, legal and illegal, over small pools of
// repositories, contents, tags and manifests so that random operations meet each other
// (a chunk lands on a started session, a manifest finds its blobs, a tag gets listed). Shared
// by the model's laws and by the model-vs-registry properties.
#pragma once

#include <rapidcheck.h>

#include <string>
#include <vector>

#include "model/api/registry.h"

namespace gantry::testing::registry {

// The pools the generators draw from.
const std::vector<std::string>& pool_repos();     // valid names, and one invalid
const std::vector<std::string>& pool_contents();  // blob contents, "" included
const std::vector<std::string>& pool_tags();      // valid tags, and one invalid
// (media type, bytes): image manifests over pool contents, an index, a Docker list,
// referrers of pool manifests, and invalid documents.
const std::vector<std::pair<std::string, std::string>>& pool_manifests();

// A tag of the grammar [a-zA-Z0-9_][a-zA-Z0-9._-]{0,7}.
rc::Gen<std::string> gen_tag();
rc::Gen<api::Page> gen_page();
// Any operation. Session indexes run 0..4, so some name sessions never started.
rc::Gen<api::RegistryOp> gen_registry_op();
// A sequence of operations, half the time after a preamble that pushes the pools' blobs and
// manifests into the first repository.
rc::Gen<std::vector<api::RegistryOp>> gen_registry_ops();

}  // namespace gantry::testing::registry
