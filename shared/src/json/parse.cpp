// SPDX-License-Identifier: Apache-2.0
// A Boost.JSON parser handler like the library's own (a value_stack), except
// that doubles are converted from their text with std::from_chars, which is
// correctly rounded.
#include "surveyor/json/parse.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <string>

namespace surveyor::json {
namespace {

namespace bj = boost::json;
using boost::system::error_code;

struct PreciseHandler {
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  bj::value_stack st;
  std::string number;  // the parts of a number split across buffers

  explicit PreciseHandler(bj::storage_ptr sp) : st(std::move(sp)) {}

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(bj::string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(bj::string_view s, error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, bj::string_view s, error_code&) {
    number.append(s.data(), s.size());
    double precise = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), precise);
    // Out of range (1e999): keep what Boost.JSON made of it (an infinity).
    st.push_double(ec == std::errc() && end == number.data() + number.size() ? precise : d);
    number.clear();
    return true;
  }
  bool on_bool(bool b, error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(bj::string_view, error_code&) { return true; }
  bool on_comment(bj::string_view, error_code&) { return true; }
};

}  // namespace

boost::json::value parse_precise(std::string_view text, error_code& ec, bj::storage_ptr sp,
                                 const bj::parse_options& options) {
  bj::basic_parser<PreciseHandler> p(options, sp);
  p.handler().st.reset(sp);
  const std::size_t used = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = bj::error::extra_data;
  if (ec) return nullptr;
  return p.handler().st.release();
}

}  // namespace surveyor::json
