// SPDX-License-Identifier: Apache-2.0
// Asio's ssl implementation, compiled once for the whole project.
#include <boost/asio/ssl/impl/src.hpp>
