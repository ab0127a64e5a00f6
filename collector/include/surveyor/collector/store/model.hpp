// SPDX-License-Identifier: Apache-2.0
// Every domain's model and store interface at once; prefer the one header
// of the domain a file works with.
#pragma once

#include "surveyor/collector/store/stores.hpp"
