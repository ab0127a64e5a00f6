// SPDX-License-Identifier: Apache-2.0
// Boundary probe: the store module reaching up to the API's header must not
// compile (check_boundary.cmake expects exactly that failure).
#include "surveyor/collector/api/api.hpp"

int surveyor_boundary_probe() { return 0; }
