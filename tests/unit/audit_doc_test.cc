// docs/audit-events.md is the audit schema that consumers of the event stream
// build on; this test keeps it honest. Every line of every ```json block is
// parsed, checked against the envelope of the doc's §3, re-encoded and
// re-hashed by this file's own implementation of §4 (not engine/json.h: it
// tests what the document says, not what the code does), and only then
// compared with the engine's own encoding and EventHash, so that the document
// and rotor cannot drift apart. It also checks that the type list of §6, the
// §7 sections with their field tables, the examples, and the types that
// rotor's sources emit all agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/crypto/boring_hasher.h"
#include "engine/audit.h"
#include "engine/json.h"
#include "tests/support/test_paths.h"

namespace rotor {
namespace {

// ---- Where things are ------------------------------------------------------

using testing::SourceDir;

std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- An independent JSON value, parser and canonical writer (doc §4.4) ------

struct Json {
  enum class Kind { kNull, kBool, kInt, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;  // in input order

  const Json* Find(std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  // Str returns the string member `key`, or "" when it is missing or not a string.
  std::string Str(std::string_view key) const {
    const Json* v = Find(key);
    return v && v->kind == Kind::kString ? v->string : std::string();
  }
};

// JsonReader parses RFC 8259 JSON restricted to integers; duplicate keys and
// raw control characters in strings are errors.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  // Parse returns the document, or nullopt with error() set.
  std::optional<Json> Parse() {
    Json v;
    if (!Value(0, &v)) return std::nullopt;
    Ws();
    if (pos_ != s_.size()) return Fail("trailing bytes");
    return v;
  }
  const std::string& error() const { return error_; }

 private:
  std::nullopt_t Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(pos_);
    return std::nullopt;
  }
  bool Error(const std::string& what) {
    Fail(what);
    return false;
  }
  void Ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Value(int depth, Json* out) {
    if (depth > 64) return Error("nested too deep");
    Ws();
    if (pos_ >= s_.size()) return Error("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return Object(depth, out);
    if (c == '[') return Array(depth, out);
    if (c == '"') {
      out->kind = Json::Kind::kString;
      return String(&out->string);
    }
    if (Literal("true")) {
      out->kind = Json::Kind::kBool;
      out->boolean = true;
      return true;
    }
    if (Literal("false")) {
      out->kind = Json::Kind::kBool;
      return true;
    }
    if (Literal("null")) return true;
    if (c == '-' || (c >= '0' && c <= '9')) return Integer(out);
    return Error("unexpected character");
  }

  bool Integer(Json* out) {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    const size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == digits) return Error("expected digits");
    if (s_[digits] == '0' && pos_ - digits > 1) return Error("leading zero");
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      return Error("not an integer");
    }
    errno = 0;
    char* end = nullptr;
    const std::string text(s_.substr(start, pos_ - start));
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno == ERANGE) return Error("integer out of range");
    out->kind = Json::Kind::kInt;
    out->integer = v;
    return true;
  }

  static void Utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    *cp = v;
    return true;
  }

  bool String(std::string* out) {
    ++pos_;  // the opening quote
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return Error("raw control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      switch (s_[pos_++]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return Error("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (!Literal("\\u") || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return Error("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Error("lone low surrogate");
          }
          Utf8(cp, out);
          break;
        }
        default: return Error("bad escape");
      }
    }
    return Error("unterminated string");
  }

  bool Array(int depth, Json* out) {
    ++pos_;
    out->kind = Json::Kind::kArray;
    Ws();
    if (Literal("]")) return true;
    while (true) {
      Json item;
      if (!Value(depth + 1, &item)) return false;
      out->items.push_back(std::move(item));
      Ws();
      if (Literal(",")) continue;
      if (Literal("]")) return true;
      return Error("expected ',' or ']'");
    }
  }

  bool Object(int depth, Json* out) {
    ++pos_;
    out->kind = Json::Kind::kObject;
    Ws();
    if (Literal("}")) return true;
    while (true) {
      Ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a key");
      std::string key;
      if (!String(&key)) return false;
      if (out->Find(key) != nullptr) return Error("duplicate key \"" + key + "\"");
      Ws();
      if (!Literal(":")) return Error("expected ':'");
      Json value;
      if (!Value(depth + 1, &value)) return false;
      out->members.emplace_back(std::move(key), std::move(value));
      Ws();
      if (Literal(",")) continue;
      if (Literal("}")) return true;
      return Error("expected ',' or '}'");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

// §4.4 rule 3: '"' and '\' escaped, bytes 0x00-0x1F and 0x7F as \u00xx with
// lowercase hex, every other byte as is.
void WriteCanonicalString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (ch == '"') {
      *out += "\\\"";
    } else if (ch == '\\') {
      *out += "\\\\";
    } else if (b < 0x20 || b == 0x7F) {
      *out += "\\u00";
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 0xF]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

// §4.4 rule 2: keys compared as unsigned bytes.
bool KeyBefore(const std::string& a, const std::string& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

// WriteCanonical writes `v` by §4.4, leaving out the top-level member `skip`.
void WriteCanonical(const Json& v, std::string* out, std::string_view skip = {}) {
  switch (v.kind) {
    case Json::Kind::kNull: *out += "null"; break;
    case Json::Kind::kBool: *out += v.boolean ? "true" : "false"; break;
    case Json::Kind::kInt: *out += std::to_string(v.integer); break;
    case Json::Kind::kString: WriteCanonicalString(v.string, out); break;
    case Json::Kind::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out->push_back(',');
        WriteCanonical(v.items[i], out);
      }
      out->push_back(']');
      break;
    }
    case Json::Kind::kObject: {
      std::vector<const std::pair<std::string, Json>*> sorted;
      for (const auto& m : v.members) {
        if (skip.empty() || m.first != skip) sorted.push_back(&m);
      }
      std::sort(sorted.begin(), sorted.end(),
                [](const auto* x, const auto* y) { return KeyBefore(x->first, y->first); });
      out->push_back('{');
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0) out->push_back(',');
        WriteCanonicalString(sorted[i]->first, out);
        out->push_back(':');
        WriteCanonical(sorted[i]->second, out);
      }
      out->push_back('}');
      break;
    }
  }
}

std::string Canonical(const Json& v, std::string_view skip = {}) {
  std::string out;
  WriteCanonical(v, &out, skip);
  return out;
}

std::string Hex(const std::array<uint8_t, 32>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

// §4.3: hash = hex(SHA-256(prevhash ‖ canonical event without "hash")).
std::string DocHash(const Json& event) {
  BoringHasher sha256;
  return Hex(sha256.Sha256(event.Str("prevhash") + Canonical(event, "hash")));
}

// ---- The document -----------------------------------------------------------

struct Block {
  std::string tag;      // the fence's language tag
  std::string content;  // without the fences; lines joined by '\n'
  int line = 0;         // 1-based line of the opening fence
  std::string section;  // the dev.rotor.* type of the enclosing "### " heading, if any
  int lines = 0;        // content lines so far
};

struct Field {
  std::string type;     // "string" or "integer"
  std::string present;  // "always" or "optional"
};

struct Doc {
  std::vector<Block> blocks;
  std::vector<std::string> listed_types;                       // §6 summary table, in order
  std::vector<std::string> section_types;                      // "### `dev.rotor.X`" headings, in order
  std::map<std::string, std::map<std::string, Field>> fields;  // per section: its data field table
};

std::vector<std::string> Cells(const std::string& row) {
  std::vector<std::string> cells;
  std::stringstream ss(row);
  std::string cell;
  std::getline(ss, cell, '|');  // before the first '|'
  while (std::getline(ss, cell, '|')) {
    const size_t b = cell.find_first_not_of(' ');
    const size_t e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return cells;
}

std::string Unquote(const std::string& cell) {
  return cell.size() >= 2 && cell.front() == '`' && cell.back() == '`' ? cell.substr(1, cell.size() - 2) : cell;
}

Doc ParseDoc(const std::string& text) {
  static const std::regex kHeading(R"(^### `(dev\.rotor\.[a-z_.]+)`\s*$)");
  Doc doc;
  std::stringstream in(text);
  std::string line;
  std::string section;
  std::optional<Block> open;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (open) {
      if (line == "```") {
        doc.blocks.push_back(std::move(*open));
        open.reset();
      } else {
        if (open->lines++ > 0) open->content += '\n';
        open->content += line;
      }
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      open = Block{line.substr(3), "", n, section, 0};
      continue;
    }
    std::smatch m;
    if (std::regex_match(line, m, kHeading)) {
      section = m[1];
      doc.section_types.push_back(section);
      continue;
    }
    if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0) section.clear();
    if (line.rfind("| `dev.rotor.", 0) == 0) {
      doc.listed_types.push_back(Unquote(Cells(line).at(0)));
    } else if (!section.empty() && line.rfind("| `", 0) == 0) {
      const auto cells = Cells(line);
      if (cells.size() >= 4) doc.fields[section][Unquote(cells[0])] = Field{cells[1], cells[2]};
    }
  }
  EXPECT_FALSE(open.has_value()) << "docs/audit-events.md: the fence opened at line " << open->line
                                 << " is never closed";
  return doc;
}

class AuditDocTest : public ::testing::Test {
 protected:
  struct Example {
    std::string line;  // the journal line, verbatim
    Json event;
    int doc_line = 0;
    std::string section;
  };

  static void SetUpTestSuite() {
    const std::string path = SourceDir() + "/docs/audit-events.md";
    auto text = ReadAll(path);
    ASSERT_TRUE(text.has_value()) << "cannot read " << path << " (set ROTOR_SOURCE_DIR to the source tree)";
    doc_ = new Doc(ParseDoc(*text));
    examples_ = new std::vector<Example>();
    for (const Block& b : doc_->blocks) {
      if (b.tag != "json") continue;
      std::stringstream lines(b.content);
      std::string l;
      int offset = 1;
      while (std::getline(lines, l)) {
        JsonReader reader(l);
        auto event = reader.Parse();
        ASSERT_TRUE(event.has_value()) << "docs/audit-events.md:" << b.line + offset << ": " << reader.error();
        examples_->push_back(Example{l, std::move(*event), b.line + offset, b.section});
        ++offset;
      }
    }
  }
  static void TearDownTestSuite() {
    delete doc_;
    delete examples_;
    doc_ = nullptr;
    examples_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(doc_, nullptr) << "docs/audit-events.md was not loaded";
    ASSERT_NE(examples_, nullptr);
  }

  static std::string Where(const Example& e) { return "docs/audit-events.md:" + std::to_string(e.doc_line); }

  static Doc* doc_;
  static std::vector<Example>* examples_;
};

Doc* AuditDocTest::doc_ = nullptr;
std::vector<AuditDocTest::Example>* AuditDocTest::examples_ = nullptr;

bool IsLowerHex(const std::string& s, size_t size) {
  return s.size() == size && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// ---- The rules of the doc, applied to its own examples ----------------------

TEST_F(AuditDocTest, HasExamples) {
  EXPECT_GE(examples_->size(), 14u);
}

TEST_F(AuditDocTest, EveryExampleIsACanonicalCloudEventWithTheDocumentedEnvelope) {
  static const std::regex kTime(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  static const std::set<std::string> kAttributes = {
      "specversion",     "id",   "source",   "type",     "subject", "time",
      "datacontenttype", "data", "sequence", "prevhash", "hash"};
  for (const Example& e : *examples_) {
    SCOPED_TRACE(Where(e));
    const Json& ev = e.event;
    ASSERT_EQ(ev.kind, Json::Kind::kObject);
    EXPECT_EQ(Canonical(ev), e.line) << "a journal line is the canonical JSON of the whole event (§4.4)";
    std::set<std::string> names;
    for (const auto& [key, value] : ev.members) {
      names.insert(key);
      if (key != "data") {
        EXPECT_EQ(value.kind, Json::Kind::kString) << key;
      }
    }
    EXPECT_EQ(names, kAttributes) << "exactly the eleven members of §3";

    EXPECT_EQ(ev.Str("specversion"), "1.0");
    EXPECT_EQ(ev.Str("datacontenttype"), "application/json");
    EXPECT_EQ(ev.Str("source").rfind("/rotor/", 0), 0u) << ev.Str("source");
    EXPECT_EQ(ev.Str("type").rfind(kEventTypePrefix, 0), 0u) << ev.Str("type");
    EXPECT_FALSE(ev.Str("subject").empty());
    EXPECT_TRUE(std::regex_match(ev.Str("time"), kTime)) << ev.Str("time");
    const std::string seq = ev.Str("sequence");
    EXPECT_TRUE(seq.size() == 20 && seq.find_first_not_of("0123456789") == std::string::npos) << seq;
    EXPECT_NE(seq, std::string(20, '0')) << "sequences start at 1";
    EXPECT_EQ(ev.Str("id"), ev.Str("subject") + "/" + seq);
    EXPECT_TRUE(IsLowerHex(ev.Str("prevhash"), 64)) << ev.Str("prevhash");
    EXPECT_TRUE(IsLowerHex(ev.Str("hash"), 64)) << ev.Str("hash");
    if (seq == "00000000000000000001") {
      EXPECT_EQ(ev.Str("prevhash"), std::string(64, '0')) << "genesis (§4.2)";
    }

    const Json* data = ev.Find("data");
    ASSERT_NE(data, nullptr);
    ASSERT_EQ(data->kind, Json::Kind::kObject);
    for (const auto& [key, value] : data->members) {
      EXPECT_TRUE(value.kind == Json::Kind::kString || value.kind == Json::Kind::kInt)
          << "data." << key << ": only strings and integers (§3)";
      if (value.kind == Json::Kind::kString) {
        EXPECT_FALSE(value.string.empty()) << "data." << key;
      }
    }
    EXPECT_FALSE(data->Str("phase").empty()) << "every data has a phase (§3)";
  }
}

TEST_F(AuditDocTest, EveryHashIsTheOneTheDocDefines) {
  for (const Example& e : *examples_) {
    SCOPED_TRACE(Where(e));
    const std::string hash = e.event.Str("hash");
    EXPECT_EQ(DocHash(e.event), hash) << "hash = SHA-256(prevhash ‖ canonical event without hash) (§4.3)";

    // §4.4's shortcut: C is the line with `"hash":"<64 hex>",` cut out.
    const std::string member = "\"hash\":\"" + hash + "\",";
    std::string cut = e.line;
    const size_t at = cut.find(member);
    ASSERT_NE(at, std::string::npos);
    cut.erase(at, member.size());
    EXPECT_EQ(cut, Canonical(e.event, "hash"));
  }
}

TEST_F(AuditDocTest, TheEngineAgreesWithTheDoc) {
  BoringHasher sha256;
  for (const Example& e : *examples_) {
    SCOPED_TRACE(Where(e));
    auto parsed = ParseJson(e.line);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(CanonicalJson(*parsed), e.line);
    EXPECT_EQ(EventHash(sha256, *parsed), e.event.Str("hash"));
    ChainVerifier verifier(sha256);
    if (e.event.Str("sequence") == FormatSequence(1)) {
      EXPECT_TRUE(verifier.Feed(e.line).ok());
    }
  }
}

// The examples' edge-free strings do not exercise every rule of §4.4; an
// event with every kind of awkward byte does, against the engine's writer.
TEST_F(AuditDocTest, CanonicalRulesMatchTheEngineOnAwkwardStrings) {
  RotationRecord record;
  record.id = "svc-a";
  AuditFact fact;
  fact.type = "rotation.failed";
  std::string awkward =
      "tab\tnl\ncr\rquote\"backslash\\slash/del\x7f"
      "nul";
  awkward.push_back('\0');
  awkward += "é€😀";
  fact.data["error"] = awkward;
  fact.data["B"] = int64_t{-42};
  fact.data["_"] = std::string("underscore");
  fact.data["b"] = int64_t{0};
  fact.data["é"] = std::string("non-ascii key");
  BoringHasher sha256;
  const std::string line = ChainAuditEvent(sha256, fact, Instant::FromSeconds(1735689600), "/rotor/test", &record);
  JsonReader reader(line);
  auto event = reader.Parse();
  ASSERT_TRUE(event.has_value()) << reader.error();
  EXPECT_EQ(event->Find("data")->Str("error"), awkward);
  EXPECT_EQ(Canonical(*event), line);
  EXPECT_EQ(DocHash(*event), event->Str("hash"));
  EXPECT_NE(line.find(R"("error":"tab\u0009nl\u000acr\u000dquote\"backslash\\slash/del\u007fnul\u0000é€😀")"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("data":{"B":-42,"_":"underscore","b":0,"error":)"), std::string::npos) << line;
}

TEST_F(AuditDocTest, ExamplesOfOneIdentityLinkUp) {
  std::map<std::pair<std::string, std::string>, std::string> hash_of;  // (subject, sequence) -> hash
  for (const Example& e : *examples_) hash_of[{e.event.Str("subject"), e.event.Str("sequence")}] = e.event.Str("hash");
  int links = 0;
  for (const Example& e : *examples_) {
    const uint64_t seq = std::stoull(e.event.Str("sequence"));
    auto prev = hash_of.find({e.event.Str("subject"), FormatSequence(seq - 1)});
    if (prev == hash_of.end()) continue;
    ++links;
    EXPECT_EQ(e.event.Str("prevhash"), prev->second) << Where(e) << ": prevhash is the previous event's hash";
  }
  EXPECT_GE(links, 5) << "the doc presents consecutive events of payments-api";
}

TEST_F(AuditDocTest, WorkedHashInputHashesToItsExample) {
  static const std::regex kHashInput(R"(^[0-9a-f]{64}\{.*\}$)");
  BoringHasher sha256;
  int worked = 0;
  for (const Block& b : doc_->blocks) {
    if (b.tag != "text" || !std::regex_match(b.content, kHashInput)) continue;
    ++worked;
    const std::string digest = Hex(sha256.Sha256(b.content));
    bool found = false;
    for (const Example& e : *examples_) {
      if (e.event.Str("hash") != digest) continue;
      found = true;
      EXPECT_EQ(b.content, e.event.Str("prevhash") + Canonical(e.event, "hash")) << "docs/audit-events.md:" << b.line;
    }
    EXPECT_TRUE(found) << "docs/audit-events.md:" << b.line << ": hashes to " << digest << ", no example's hash";
  }
  EXPECT_EQ(worked, 1) << "§4.5 shows one hash input";
}

TEST_F(AuditDocTest, QuotedDigestsAreExampleHashes) {
  static const std::regex kDigest("^[0-9a-f]{64}$");
  std::set<std::string> hashes;
  for (const Example& e : *examples_) hashes.insert(e.event.Str("hash"));
  for (const Block& b : doc_->blocks) {
    if (b.tag == "text" && std::regex_match(b.content, kDigest)) {
      EXPECT_TRUE(hashes.count(b.content)) << "docs/audit-events.md:" << b.line << ": " << b.content;
    }
  }
}

TEST_F(AuditDocTest, PrettyCopiesSayWhatTheLineAbove) {
  const Block* last_json = nullptr;
  for (const Block& b : doc_->blocks) {
    if (b.tag == "json") {
      last_json = &b;
      continue;
    }
    if (b.tag != "text" || b.content.rfind("{\n", 0) != 0) continue;
    SCOPED_TRACE("docs/audit-events.md:" + std::to_string(b.line));
    ASSERT_NE(last_json, nullptr);
    JsonReader reader(b.content);
    auto pretty = reader.Parse();
    ASSERT_TRUE(pretty.has_value()) << reader.error();
    EXPECT_EQ(Canonical(*pretty), last_json->content);
  }
}

// ---- The list of types, the sections and the field tables --------------------

TEST_F(AuditDocTest, EveryListedTypeHasASectionWithOneExample) {
  const std::set<std::string> listed(doc_->listed_types.begin(), doc_->listed_types.end());
  EXPECT_EQ(listed.size(), doc_->listed_types.size()) << "a type is listed twice in §6";
  EXPECT_EQ(doc_->section_types, doc_->listed_types) << "§7 has one section per type of §6, in the same order";
  std::map<std::string, int> examples_of;
  for (const Example& e : *examples_) {
    const std::string type = e.event.Str("type");
    EXPECT_EQ(type, e.section) << Where(e) << ": an example belongs in its type's section";
    EXPECT_TRUE(listed.count(type)) << Where(e) << ": " << type << " is not listed in §6";
    ++examples_of[type];
  }
  for (const std::string& type : doc_->listed_types) {
    EXPECT_EQ(examples_of[type], 1) << type << " needs exactly one example";
  }
}

TEST_F(AuditDocTest, FieldTablesDescribeEveryExample) {
  for (const std::string& type : doc_->section_types) {
    ASSERT_TRUE(doc_->fields.count(type)) << type << " has no field table";
    const auto& table = doc_->fields.at(type);
    EXPECT_TRUE(table.count("phase")) << type << ": phase is in every data (§3)";
    for (const auto& [name, field] : table) {
      EXPECT_TRUE(field.type == "string" || field.type == "integer") << type << "." << name << ": " << field.type;
      EXPECT_TRUE(field.present == "always" || field.present == "optional") << type << "." << name;
    }
  }
  for (const Example& e : *examples_) {
    SCOPED_TRACE(Where(e));
    auto table = doc_->fields.find(e.event.Str("type"));
    ASSERT_NE(table, doc_->fields.end());
    const Json* data = e.event.Find("data");
    ASSERT_NE(data, nullptr);
    for (const auto& [key, value] : data->members) {
      auto field = table->second.find(key);
      if (field == table->second.end()) {
        ADD_FAILURE() << "data." << key << " is not in the field table of " << table->first;
        continue;
      }
      EXPECT_EQ(field->second.type, value.kind == Json::Kind::kInt ? "integer" : "string") << "data." << key;
    }
    for (const auto& [name, field] : table->second) {
      if (field.present == "always") {
        EXPECT_NE(data->Find(name), nullptr) << "data." << name << " is always present";
      }
    }
  }
}

// Every type rotor can write, found as a string literal in the three places
// that name them, is listed, and nothing else is.
TEST_F(AuditDocTest, ListsExactlyTheTypesTheCodeEmits) {
  static const std::regex kType(R"re("((?:identity|rotation|credential)\.[a-z_]+)")re");
  std::set<std::string> emitted;
  for (const char* file : {"engine/rotation.cc", "app/reconcile.cc", "engine/adoption.cc"}) {
    auto text = ReadAll(SourceDir() + "/" + file);
    ASSERT_TRUE(text.has_value()) << "cannot read " << file;
    for (std::sregex_iterator it(text->begin(), text->end(), kType), end; it != end; ++it) {
      emitted.insert(kEventTypePrefix + (*it)[1].str());
    }
  }
  EXPECT_GE(emitted.size(), 14u);
  const std::set<std::string> listed(doc_->listed_types.begin(), doc_->listed_types.end());
  EXPECT_EQ(listed, emitted);
}

}  // namespace
}  // namespace rotor
