#include "engine/json.h"

#include <limits>
#include "engine/utf8.h"

namespace rotor {

JsonValue JsonValue::Bool(bool b) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}
JsonValue JsonValue::Int(int64_t i) {
  JsonValue v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}
JsonValue JsonValue::String(std::string s) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.string_ = std::move(s);
  return v;
}
JsonValue JsonValue::Array() {
  JsonValue v;
  v.kind_ = Kind::kArray;
  return v;
}
JsonValue JsonValue::Object() {
  JsonValue v;
  v.kind_ = Kind::kObject;
  return v;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  auto it = object_.find(std::string(key));
  return it == object_.end() ? nullptr : &it->second;
}

void JsonValue::Set(std::string key, JsonValue value) {
  object_[std::move(key)] = std::move(value);
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  StatusOr<JsonValue> ParseDocument() {
    JsonValue v;
    ROTOR_RETURN_IF_ERROR(ParseValue(0, &v));
    SkipWs();
    if (pos_ != s_.size()) return Error("trailing characters");
    return v;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("JSON: " + what + " at offset " + std::to_string(pos_));
  }
  void SkipWs() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool Consume(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) == lit) {
      pos_ += lit.size();
      return true;
    }
    return false;
  }

  Status ParseValue(int depth, JsonValue* out) {
    if (depth > 32) return Error("nesting too deep");
    SkipWs();
    if (pos_ >= s_.size()) return Error("unexpected end");
    char c = s_[pos_];
    if (c == '{') return ParseObject(depth, out);
    if (c == '[') return ParseArray(depth, out);
    if (c == '"') {
      std::string str;
      ROTOR_RETURN_IF_ERROR(ParseString(&str));
      *out = JsonValue::String(std::move(str));
      return Status::Ok();
    }
    if (Consume("true")) {
      *out = JsonValue::Bool(true);
      return Status::Ok();
    }
    if (Consume("false")) {
      *out = JsonValue::Bool(false);
      return Status::Ok();
    }
    if (Consume("null")) {
      *out = JsonValue::Null();
      return Status::Ok();
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseInt(out);
    return Error(std::string("unexpected character '") + c + "'");
  }

  Status ParseInt(JsonValue* out) {
    bool neg = false;
    if (s_[pos_] == '-') {
      neg = true;
      ++pos_;
    }
    size_t start = pos_;
    uint64_t v = 0;
    constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, static_cast<unsigned>(s_[pos_] - '0'), &v) ||
          v > kLimit) {
        return Error("integer out of range");
      }
      ++pos_;
    }
    if (pos_ == start) return Error("expected digits");
    if (s_[start] == '0' && pos_ - start > 1) return Error("leading zero");
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      return Error("only integers are allowed");
    if (!neg && v == kLimit) return Error("integer out of range");
    int64_t iv = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
    *out = JsonValue::Int(iv);
    return Status::Ok();
  }

  bool ReadHex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    pos_ += 4;
    *cp = v;
    return true;
  }

  Status ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return Error("unterminated string");
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in string");
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return Error("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!ReadHex4(&cp)) return Error("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (!Consume("\\u") || !ReadHex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return Error("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("lone low surrogate");
          }
          AppendUtf8(cp, out);
          break;
        }
        default: return Error("bad escape");
      }
    }
  }

  Status ParseArray(int depth, JsonValue* out) {
    ++pos_;
    *out = JsonValue::Array();
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      JsonValue item;
      ROTOR_RETURN_IF_ERROR(ParseValue(depth + 1, &item));
      out->Push(std::move(item));
      SkipWs();
      if (pos_ >= s_.size()) return Error("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or ']'");
    }
  }

  Status ParseObject(int depth, JsonValue* out) {
    ++pos_;
    *out = JsonValue::Object();
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a key");
      std::string key;
      ROTOR_RETURN_IF_ERROR(ParseString(&key));
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      JsonValue value;
      ROTOR_RETURN_IF_ERROR(ParseValue(depth + 1, &value));
      if (out->members().count(key)) return Error("duplicate key \"" + key + "\"");
      out->Set(std::move(key), std::move(value));
      SkipWs();
      if (pos_ >= s_.size()) return Error("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or '}'");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<JsonValue> ParseJson(std::string_view text) {
  return Parser(text).ParseDocument();
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f) continue;
    out->append(s.data() + plain, i - plain);
    plain = i + 1;
    if (c == '"') {
      out->append("\\\"");
    } else if (c == '\\') {
      out->append("\\\\");
    } else {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(s.data() + plain, s.size() - plain);
  out->push_back('"');
}

void AppendCanonicalJson(const JsonValue& v, std::string* out) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull: out->append("null"); break;
    case JsonValue::Kind::kBool: out->append(v.as_bool() ? "true" : "false"); break;
    case JsonValue::Kind::kInt: out->append(std::to_string(v.as_int())); break;
    case JsonValue::Kind::kString: AppendJsonString(v.as_string(), out); break;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonicalJson(item, out);
      }
      out->push_back(']');
      break;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.members()) {  // std::map: byte order
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(key, out);
        out->push_back(':');
        AppendCanonicalJson(value, out);
      }
      out->push_back('}');
      break;
    }
  }
}

std::string CanonicalJson(const JsonValue& value) {
  std::string out;
  AppendCanonicalJson(value, &out);
  return out;
}

}  // namespace rotor
