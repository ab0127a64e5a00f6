// SPDX-License-Identifier: Apache-2.0
// JSON parsing whose numbers are exactly the doubles written, so samples are stored as sent.
#pragma once

#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace surveyor::json {

// boost::json::parse, but every floating-point number is the double nearest
// its text (std::from_chars). Boost.JSON 1.81's own conversion is off by one
// unit in the last place for about 2% of 17-digit numbers, which would break
// the promise that samples are stored exactly as sent.
[[nodiscard]] boost::json::value parse_precise(std::string_view text, boost::system::error_code& ec,
                                               boost::json::storage_ptr sp = {},
                                               const boost::json::parse_options& options = {});

}  // namespace surveyor::json
