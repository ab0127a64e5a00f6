// SPDX-License-Identifier: Apache-2.0
// The error category behind every module's error enum, with its messages in a table.
#pragma once

#include <initializer_list>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace surveyor::core {

// An error category whose messages come from a table, so a module declares
// its error enum's texts in one place:
//   static const TableCategory c("wire", {{Errc::truncated, "message truncated"}, ...});
class TableCategory final : public std::error_category {
 public:
  struct Entry {
    template <class E>
      requires std::is_enum_v<E>
    Entry(E e, const char* t) : code(static_cast<int>(e)), text(t) {}
    int code;
    const char* text;
  };
  TableCategory(const char* name, std::initializer_list<Entry> messages) : name_(name) {
    for (const Entry& e : messages) messages_.emplace_back(e.code, e.text);
  }
  const char* name() const noexcept override { return name_; }
  std::string message(int code) const override {
    for (const auto& [c, text] : messages_)
      if (c == code) return text;
    return std::string(name_) + " error " + std::to_string(code);
  }

 private:
  const char* name_;
  std::vector<std::pair<int, const char*>> messages_;
};

}  // namespace surveyor::core
