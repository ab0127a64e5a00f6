// SPDX-License-Identifier: Apache-2.0
// The JSON form of wire messages (plain objects; see docs/api.md).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surveyor/core/result.hpp"
#include "surveyor/wire/codec.hpp"
#include "surveyor/wire/enroll.hpp"
#include "surveyor/wire/report.hpp"

namespace surveyor::wire::detail {

std::string to_json_text(const Report& m);
std::string to_json_text(const ReportAck& m);
std::string to_json_text(const EnrollRequest& m);
std::string to_json_text(const EnrollResponse& m);

template <class M>
core::Result<M> from_json_text(std::string_view body);

std::vector<SectionText> section_texts(const Inventory& inv);
std::string inventory_json_text(const Inventory& inv);

}  // namespace surveyor::wire::detail
