// SPDX-License-Identifier: Apache-2.0
// A cereal input archive that reads the PortableBinary format from untrusted
// bytes without trusting any length in them. Design:
//  - every length prefix must fit in the bytes that remain, and the memory a
//    container or string will take (count * sizeof(T)) is charged against a
//    budget fixed from the body size before decoding starts, so a hostile
//    "4 billion elements" prefix fails before anything is allocated;
//  - bools must be 0 or 1 (a stray byte would be undefined behaviour);
//  - running out of bytes, or a bad value, throws DecodeFailure, which the
//    codec turns into a wire::Errc; nothing escapes the codec.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/details/traits.hpp>
#include <cereal/archives/portable_binary.hpp>

#include <bit>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "surveyor/wire/codec.hpp"

namespace surveyor::wire::detail {

struct DecodeFailure {
  Errc code;
  std::string what;
};

class BoundedInputArchive
    : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  BoundedInputArchive(std::string_view bytes, std::size_t alloc_budget)
      : cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision>(this),
        data_(bytes),
        budget_(alloc_budget) {
    std::uint8_t little = 0;
    read_raw(&little, 1);
    if (little > 1) throw DecodeFailure{Errc::malformed, "bad byte-order flag"};
    swap_ = (little == 1) != (std::endian::native == std::endian::little);
  }

  void read_raw(void* dst, std::size_t n) {
    if (n > data_.size() - pos_)
      throw DecodeFailure{Errc::truncated, "needed " + std::to_string(n) + " bytes at offset " +
                                               std::to_string(pos_) + ", " +
                                               std::to_string(data_.size() - pos_) + " left"};
    if (n != 0) std::memcpy(dst, data_.data() + pos_, n);
    pos_ += n;
  }

  template <std::size_t Size>
  void read_swapped(void* dst, std::size_t n) {
    read_raw(dst, n);
    if (swap_ && Size > 1) {
      auto* p = static_cast<unsigned char*>(dst);
      for (std::size_t i = 0; i + Size <= n; i += Size)
        for (std::size_t j = 0; j < Size / 2; ++j) std::swap(p[i + j], p[i + Size - 1 - j]);
    }
  }

  // A length prefix claims `count` elements of `elem_size` bytes in memory.
  void check_length(std::uint64_t count, std::size_t elem_size, std::size_t min_wire_size) {
    const std::size_t left = remaining();
    if (min_wire_size != 0 && count > left / min_wire_size) {
      // A length the whole message could hold means the message was cut
      // short; one beyond it cannot be honest.
      const bool fits_body = count <= data_.size() / min_wire_size;
      throw DecodeFailure{fits_body ? Errc::truncated : Errc::too_large,
                          "length " + std::to_string(count) + " at offset " + std::to_string(pos_) +
                              " exceeds the " + std::to_string(left) + " bytes left"};
    }
    if (count > budget_ / (elem_size == 0 ? 1 : elem_size))
      throw DecodeFailure{Errc::too_large, "length " + std::to_string(count) +
                                               " exceeds the memory bound for this body"};
    budget_ -= static_cast<std::size_t>(count) * elem_size;
  }

  [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  std::size_t budget_;
  bool swap_ = false;
};

template <class T>
  requires std::is_arithmetic_v<T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    std::uint8_t b = 0;
    ar.read_raw(&b, 1);
    if (b > 1) throw DecodeFailure{Errc::malformed, "boolean byte is " + std::to_string(b)};
    t = b == 1;
  } else {
    ar.read_swapped<sizeof(T)>(&t, sizeof(T));
  }
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& bd) {
  using Elem = std::remove_pointer_t<T>;
  ar.read_swapped<sizeof(Elem)>(bd.data, static_cast<std::size_t>(bd.size));
}

template <class C, class Tr, class A>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, std::basic_string<C, Tr, A>& s) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  ar.check_length(n, sizeof(C), sizeof(C));
  s.resize(static_cast<std::size_t>(n));
  ar.read_swapped<sizeof(C)>(s.data(), static_cast<std::size_t>(n) * sizeof(C));
}

template <class T, class A>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, std::vector<T, A>& v) {
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    ar.check_length(n, sizeof(T), sizeof(T));
    v.resize(static_cast<std::size_t>(n));
    ar.read_swapped<sizeof(T)>(v.data(), static_cast<std::size_t>(n) * sizeof(T));
  } else {
    // Every element takes at least one byte on the wire.
    ar.check_length(n, sizeof(T), 1);
    v.clear();
    v.resize(static_cast<std::size_t>(n));
    for (T& e : v) ar(e);
  }
}

}  // namespace surveyor::wire::detail

namespace cereal::traits::detail {
template <>
struct get_output_from_input<surveyor::wire::detail::BoundedInputArchive> {
  using type = cereal::PortableBinaryOutputArchive;
};
}  // namespace cereal::traits::detail
