// Byte sizes as runc's update flags take them (docker's units: "512k", "64m", "1g", "-1").
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>

#include "runtime/oci/operations.h"

namespace gantry::runtime::oci {

Result<int64_t> parse_size_bytes(const std::string& text) {
  if (text == "-1") return -1;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return Error(ErrorKind::invalid_argument, "invalid size: '" + text + "'");
  std::string unit;
  for (size_t k = i; k < text.size(); ++k) {
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[k])));
  }
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // "Mi", "MiB"
  int shift = 0;
  if (unit == "") {
    shift = 0;
  } else if (unit == "k") {
    shift = 10;
  } else if (unit == "m") {
    shift = 20;
  } else if (unit == "g") {
    shift = 30;
  } else if (unit == "t") {
    shift = 40;
  } else {
    return Error(ErrorKind::invalid_argument, "invalid size: '" + text + "'");
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + i, v);
  if (ec != std::errc() || v > (static_cast<uint64_t>(INT64_MAX) >> shift)) {
    return Error(ErrorKind::invalid_argument, "invalid size: '" + text + "'");
  }
  return static_cast<int64_t>(v << shift);
}

}  // namespace gantry::runtime::oci
