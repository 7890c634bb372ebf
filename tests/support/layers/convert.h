// Model changeset entries <-> runtime tar entries, so that one changeset can go through the
// model's tar writer and reader and through the runtime's (libarchive) ones and be compared.
#pragma once

#include <string>
#include <vector>

#include "model/base/result.h"
#include "model/layers/changeset.h"
#include "runtime/image/layer_writer.h"
#include "runtime/image/tar_entry.h"

namespace gantry::testing::layers {

// The runtime's description of a model entry; a regular upsert's size is its content's.
runtime::image::TarEntry to_tar_entry(const model::layers::Entry& entry);

// The model entry a tar member stands for; content is a regular file's bytes.
// invalid_argument when the member cannot be a model entry (a regular file whose content was
// not kept, or an entry type the model has no node for).
Result<model::layers::Entry> to_model_entry(const runtime::image::TarMember& member);

// Every member of a runtime read, in tar order.
Result<model::layers::Changeset> to_changeset(const std::vector<runtime::image::TarMember>& tar);

// The changeset's entries, in the order given, through runtime::image::LayerWriter.
Result<std::string> write_with_layer_writer(const model::layers::Changeset& layer);
Result<std::string> write_with_layer_writer(const std::vector<runtime::image::TarMember>& tar);

}  // namespace gantry::testing::layers
