// Paths inside a tree: relative, '/'-separated, no leading or trailing '/', no empty, "." or
// ".." components; the root is implicit and never named. Paths order component by component,
// bytewise ("a" < "a/b" < "a-b"), so a directory comes right before everything it holds.
#pragma once

#include <string>
#include <string_view>

#include "model/base/result.h"

namespace gantry::model::layers {

// Component-wise bytewise comparison (a '/' sorts below every byte a name can hold).
int compare_paths(std::string_view a, std::string_view b);

struct PathLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return compare_paths(a, b) < 0; }
};

// invalid_argument naming the path when it is not a valid relative path as above.
Result<void> check_path(std::string_view path);

// "a/b/c" -> "a/b"; "a" -> "" (the root).
std::string_view parent_of(std::string_view path);
// "a/b/c" -> "c".
std::string_view base_of(std::string_view path);
// "a" is an ancestor of "a/b" and "a/b/c", not of "a" or "ab".
bool is_ancestor(std::string_view ancestor, std::string_view path);
// Joins a directory ("" is the root) and a name.
std::string join_path(std::string_view dir, std::string_view name);

}  // namespace gantry::model::layers
