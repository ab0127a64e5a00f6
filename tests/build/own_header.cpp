// SPDX-License-Identifier: Apache-2.0
// Boundary control: the store module includes its own header.
#include "surveyor/collector/store/stores.hpp"

int surveyor_boundary_control() { return 0; }
