// A small JSON value with a strict parser and rotor's canonical writer.
//
// Canonical form (docs/audit-events.md): object keys sorted by byte value, no
// insignificant whitespace, integers only (no fractions or exponents), strings
// escaped as \" \\ and \u00xx (lowercase hex) for bytes < 0x20 and 0x7f;
// every other byte (UTF-8 included) is written as is. Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace rotor {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kInt, kString, kArray, kObject };

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool b);
  static JsonValue Int(int64_t v);
  static JsonValue String(std::string s);
  static JsonValue Array();
  static JsonValue Object();

  Kind kind() const { return kind_; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool as_bool() const { return bool_; }
  int64_t as_int() const { return int_; }
  const std::string& as_string() const { return string_; }
  const std::vector<JsonValue>& items() const { return array_; }
  const std::map<std::string, JsonValue>& members() const { return object_; }
  std::map<std::string, JsonValue>& members() { return object_; }

  // Find returns the member `key` of an object, or nullptr.
  const JsonValue* Find(std::string_view key) const;
  // Set adds or replaces a member of an object.
  void Set(std::string key, JsonValue value);
  void Erase(const std::string& key) { object_.erase(key); }
  void Push(JsonValue value) { array_.push_back(std::move(value)); }

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::map<std::string, JsonValue> object_;
};

// ParseJson parses one JSON document. Fractions, exponents, duplicate keys,
// nesting deeper than 32 and trailing bytes are errors that name the offset.
StatusOr<JsonValue> ParseJson(std::string_view text);

// CanonicalJson writes `value` in canonical form.
std::string CanonicalJson(const JsonValue& value);
void AppendCanonicalJson(const JsonValue& value, std::string* out);
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace rotor
