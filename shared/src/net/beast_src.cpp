// SPDX-License-Identifier: Apache-2.0
// Beast's implementation, compiled once for the whole project.
#include <boost/beast/src.hpp>
