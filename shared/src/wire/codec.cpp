// SPDX-License-Identifier: Apache-2.0
// Encoding and decoding of wire messages. Binary is cereal PortableBinary
// behind a 4-byte magic that names the message kind; JSON (json.cpp) is the
// plain-object form for people and third-party senders. Decoding is the one
// place untrusted bytes enter: everything that can go wrong, including a
// length prefix that would allocate gigabytes, becomes a typed error here.
#include "surveyor/core/error_category.hpp"
#include "surveyor/wire/codec.hpp"

#include <cereal/archives/portable_binary.hpp>

#include <new>
#include <sstream>
#include <stdexcept>

#include "json.hpp"
#include "serialize.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::wire {
namespace {

// A message's first four bytes: "SV", the letter of its kind, and 1.
template <class M>
constexpr char kKindLetter = 0;
template <>
constexpr char kKindLetter<Report> = 'R';
template <>
constexpr char kKindLetter<ReportAck> = 'A';
template <>
constexpr char kKindLetter<EnrollRequest> = 'E';
template <>
constexpr char kKindLetter<EnrollResponse> = 'K';

template <class M>
struct Magic {
  static_assert(kKindLetter<M> != 0, "not a message with a binary form");
  static constexpr char value[4] = {'S', 'V', kKindLetter<M>, 1};
};

// Decoded structures may take at most this much memory per body byte.
constexpr std::size_t kBudgetPerByte = 8;
constexpr std::size_t kBudgetSlack = 4096;

// The PortableBinary archive of a value, little-endian whatever the host.
template <class T>
std::string archive_bytes(const T& value, std::string_view prefix = {}) {
  std::ostringstream os(std::ios::binary);
  os.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  {
    cereal::PortableBinaryOutputArchive ar(os, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    ar(value);
  }
  return std::move(os).str();
}

template <class T>
std::string encode_binary(const T& value) {
  return archive_bytes(value, std::string_view(Magic<T>::value, 4));
}

template <class T>
core::Result<T> decode_binary(std::string_view body) {
  if (body.size() < 4 || body.substr(0, 4) != std::string_view(Magic<T>::value, 4))
    return core::make_error(Errc::bad_magic, "expected magic bytes 'SV" +
                                                 std::string(1, Magic<T>::value[2]) + "\\x01'");
  const std::string_view payload = body.substr(4);
  T out{};
  try {
    detail::BoundedInputArchive ar(payload, payload.size() * kBudgetPerByte + kBudgetSlack);
    ar(out);
    if (ar.remaining() != 0)
      return core::make_error(Errc::trailing_data,
                              std::to_string(ar.remaining()) + " bytes after the end of the message");
  } catch (const detail::DecodeFailure& f) {
    return core::make_error(f.code, f.what);
  } catch (const cereal::Exception& e) {
    return core::make_error(Errc::malformed, e.what());
  } catch (const std::bad_alloc&) {
    return core::make_error(Errc::too_large, "out of memory while decoding");
  } catch (const std::length_error& e) {
    return core::make_error(Errc::too_large, e.what());
  }
  return out;
}

}  // namespace

const std::error_category& wire_category() {
  static const core::TableCategory c("wire", {
      {Errc::bad_magic, "not a Surveyor message of the expected kind"},
      {Errc::truncated, "message truncated"},
      {Errc::malformed, "malformed message"},
      {Errc::too_large, "length beyond what the message can hold"},
      {Errc::unsupported_version, "unsupported protocol version"},
      {Errc::trailing_data, "unexpected bytes after the message"},
      {Errc::missing_field, "missing field"},
      {Errc::wrong_type, "wrong type"},
      {Errc::invalid_value, "invalid value"}});
  return c;
}

std::optional<Format> format_for_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  while (!base.empty() && base.front() == ' ') base.remove_prefix(1);
  std::string lower(base);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == kBinaryContentType) return Format::binary;
  if (lower == kJsonContentType) return Format::json;
  return std::nullopt;
}

std::string_view content_type_for(Format f) {
  return f == Format::binary ? kBinaryContentType : kJsonContentType;
}

template <class M>
std::string encode(const M& message, Format format) {
  return format == Format::binary ? encode_binary(message) : detail::to_json_text(message);
}

template <class M>
core::Result<M> decode(std::string_view body, Format format, Check check) {
  core::Result<M> r = format == Format::binary ? decode_binary<M>(body)
                                               : detail::from_json_text<M>(body);
  if (!r || check == Check::structure_only) return r;
  if (auto st = validate(*r); !st) return std::move(st).error();
  return r;
}

template std::string encode(const Report&, Format);
template std::string encode(const ReportAck&, Format);
template std::string encode(const EnrollRequest&, Format);
template std::string encode(const EnrollResponse&, Format);
template core::Result<Report> decode(std::string_view, Format, Check);
template core::Result<ReportAck> decode(std::string_view, Format, Check);
template core::Result<EnrollRequest> decode(std::string_view, Format, Check);
template core::Result<EnrollResponse> decode(std::string_view, Format, Check);

template <class T>
std::string digest_of(const T& data) {
  return core::sha256_hex(archive_bytes(data));
}
template std::string digest_of(const HostInfo&);
template std::string digest_of(const CpuTopology&);
template std::string digest_of(const Hardware&);
template std::string digest_of(const std::vector<MemoryModule>&);
template std::string digest_of(const std::vector<PciDevice>&);
template std::string digest_of(const std::vector<Disk>&);
template std::string digest_of(const std::vector<Filesystem>&);
template std::string digest_of(const std::vector<Nic>&);
template std::string digest_of(const std::vector<Package>&);
template std::string digest_of(const std::vector<Instance>&);

std::string inventory_digest(const std::vector<std::string>& section_digests) {
  std::string joined;
  for (const std::string& d : section_digests) joined += d + ":";
  return core::sha256_hex(joined);
}

std::string inventory_digest(const Inventory& inv) {
  std::vector<std::string> digests;
  for_each_section(inv, [&digests](std::string_view, const auto& s) { digests.push_back(s.digest); });
  return inventory_digest(digests);
}

std::optional<std::string_view> peek_agent_id(std::string_view b) {
  // magic(4) | byte order(1) | Report layout version(4) | id length(8) | id
  constexpr std::size_t kIdAt = 4 + 1 + 4 + 8;
  if (b.size() < kIdAt || b.substr(0, 4) != std::string_view(Magic<Report>::value, 4) || b[4] != 1) return std::nullopt;
  std::uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[9 + i])) << (8 * i);
  if (len > b.size() - kIdAt) return std::nullopt;
  return b.substr(kIdAt, static_cast<std::size_t>(len));
}

std::vector<SectionText> section_texts(const Inventory& inv) { return detail::section_texts(inv); }
std::string inventory_json(const Inventory& inv) { return detail::inventory_json_text(inv); }

}  // namespace surveyor::wire
