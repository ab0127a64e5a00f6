// SPDX-License-Identifier: Apache-2.0
// Readable values: binary prefixes for bytes, percent for ratios.
#include "surveyor/text/human_value.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace surveyor::text {

std::string human_value(double v, std::string_view unit) {
  char buf[64];
  if (std::isnan(v)) return "NaN";
  if (unit == "By") {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    double x = v;
    while (std::fabs(x) >= 1024 && i < 5) {
      x /= 1024;
      ++i;
    }
    std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.2f %s", x, kUnits[i]);
    return buf;
  }
  if (unit == "1") {
    std::snprintf(buf, sizeof buf, "%.1f %%", v * 100);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.6g%s%s", v, unit.empty() ? "" : " ", std::string(unit).c_str());
  return buf;
}

}  // namespace surveyor::text
