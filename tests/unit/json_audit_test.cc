// engine/json and engine/audit: the canonical JSON form, the strict parser,
// and the per-identity hash chain of audit events (ChainAuditEvent +
// ChainVerifier). The hasher is tests/support's FakeHasher: the chain logic
// does not depend on which SHA-256 computes it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/audit.h"
#include "engine/json.h"
#include "engine/rotation.h"
#include "tests/support/fake_hasher.h"

namespace rotor {
namespace {

using testing::FakeHasher;

JsonValue MustParse(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().ToString();
  return v.ok() ? *v : JsonValue();
}

// ---- Canonical form --------------------------------------------------------

TEST(CanonicalJsonTest, SortsKeysByByteValueAndDropsWhitespace) {
  EXPECT_EQ(CanonicalJson(MustParse(R"( { "b" : 1 , "a" : [ 1, 2 , {"z":null,"Z":true} ], "A": false } )")),
            R"({"A":false,"a":[1,2,{"Z":true,"z":null}],"b":1})");
  // Byte order, not locale order: '_' (0x5f) sorts between upper and lower case.
  EXPECT_EQ(CanonicalJson(MustParse(R"({"b":0,"_":0,"B":0,"é":0,"":0})")), "{\"\":0,\"B\":0,\"_\":0,\"b\":0,\"é\":0}");
}

TEST(CanonicalJsonTest, EscapesExactlyQuoteBackslashAndControlBytes) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  std::string out;
  AppendJsonString(all, &out);
  std::string expected = "\"";
  const char* hex = "0123456789abcdef";
  for (int c = 1; c < 0x80; ++c) {
    if (c < 0x20 || c == 0x7f) {
      expected += "\\u00";
      expected += hex[c >> 4];
      expected += hex[c & 0xF];
    } else if (c == '"') {
      expected += "\\\"";
    } else if (c == '\\') {
      expected += "\\\\";
    } else {
      expected.push_back(static_cast<char>(c));
    }
  }
  expected += "\"";
  EXPECT_EQ(out, expected);
  // Short escapes are accepted on input but written as \u00xx; '/' is not escaped.
  EXPECT_EQ(CanonicalJson(MustParse(R"("\n\t\r\b\f\/\u0000")")), R"("\u000a\u0009\u000d\u0008\u000c/\u0000")");
  EXPECT_EQ(CanonicalJson(JsonValue::String(std::string("a\0b", 3))), R"("a\u0000b")");
}

TEST(CanonicalJsonTest, Utf8PassesThroughUnchanged) {
  const std::string text = "Grüße, 東京, \xF0\x9F\x94\x91 key";
  EXPECT_EQ(CanonicalJson(JsonValue::String(text)), "\"" + text + "\"");
  // \u escapes decode to UTF-8 (incl. surrogate pairs) and are written raw.
  EXPECT_EQ(MustParse(R"("\u00fc\u6771\ud83d\udd11")").as_string(), "ü東\xF0\x9F\x94\x91");
  EXPECT_EQ(CanonicalJson(MustParse(R"("\u00fc\ud83d\udd11")")), "\"ü\xF0\x9F\x94\x91\"");
}

TEST(CanonicalJsonTest, Integers) {
  EXPECT_EQ(CanonicalJson(MustParse("-9223372036854775808")), "-9223372036854775808");
  EXPECT_EQ(CanonicalJson(MustParse("9223372036854775807")), "9223372036854775807");
  EXPECT_EQ(CanonicalJson(MustParse("-0")), "0");
  EXPECT_EQ(CanonicalJson(MustParse("[0,-1,42]")), "[0,-1,42]");
}

TEST(CanonicalJsonTest, IsAFixedPoint) {
  const char* docs[] = {R"({"data":{"b":"x\u0001y","a":[true,false,null,{}]},"id":"a/1","n":-5})", "[]", "{}", "\"\"",
                        R"([[[["deep"]]]])"};
  for (const char* d : docs) {
    const std::string once = CanonicalJson(MustParse(d));
    EXPECT_EQ(CanonicalJson(MustParse(once)), once) << d;
  }
}

// ---- Strict parser -----------------------------------------------------------

TEST(ParseJsonTest, RejectsTable) {
  struct Row {
    const char* text;
    const char* error;  // substring of the message
  };
  const Row rows[] = {
      {"1.5", "only integers"},
      {"1e3", "only integers"},
      {"1E3", "only integers"},
      {"[0.0]", "only integers"},
      {R"({"a":1,"a":2})", "duplicate key \"a\""},
      {R"({"a":{"b":1,"b":1}})", "duplicate key \"b\""},
      {"{} x", "trailing characters"},
      {"1 2", "trailing characters"},
      {"[1]]", "trailing characters"},
      {"\"a\"\n\"b\"", "trailing characters"},
      {"", "unexpected end"},
      {"   ", "unexpected end"},
      {"01", "leading zero"},
      {"-", "expected digits"},
      {"+1", "unexpected character"},
      {"9223372036854775808", "out of range"},
      {"-9223372036854775809", "out of range"},
      {"99999999999999999999999", "out of range"},
      {"[1,]", "unexpected character"},
      {"{\"a\":1,}", "expected a key"},
      {"{a:1}", "expected a key"},
      {"[1 2]", "expected ','"},
      {"\"abc", "unterminated string"},
      {"\"a\x01b\"", "control character"},
      {"\"a\nb\"", "control character"},
      {R"("\x")", "bad escape"},
      {R"("\u12")", "bad \\u escape"},
      {R"("\ud83d")", "bad surrogate pair"},
      {R"("\ud83d\u0041")", "bad surrogate pair"},
      {R"("\udd11")", "lone low surrogate"},
      {"tru", "unexpected character"},
      {"nul", "unexpected character"},
      {"NaN", "unexpected character"},
      {"'a'", "unexpected character"},
  };
  for (const auto& row : rows) {
    auto v = ParseJson(row.text);
    ASSERT_FALSE(v.ok()) << "accepted: " << row.text;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find(row.error), std::string::npos) << row.text << " -> " << v.status().message();
    EXPECT_NE(v.status().message().find("at offset"), std::string::npos) << v.status().message();
  }
}

TEST(ParseJsonTest, NestingLimit) {
  auto nested = [](int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); };
  EXPECT_TRUE(ParseJson(nested(10)).ok());
  EXPECT_TRUE(ParseJson(nested(32)).ok());
  auto deep = ParseJson(nested(33));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nesting too deep"), std::string::npos);
  // Far past the limit, and unbalanced: an error, never a stack overflow.
  EXPECT_FALSE(ParseJson(std::string(100000, '[')).ok());
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_FALSE(ParseJson(objects).ok());
}

// ---- Audit chain ---------------------------------------------------------------

class AuditChainTest : public ::testing::Test {
 protected:
  AuditChainTest() {
    record_ = NewRecord("svc-a", "payments", CredentialKind::kApiKey, Instant::FromSeconds(1735689600));
    other_ = NewRecord("svc-b", "payments", CredentialKind::kApiKey, Instant::FromSeconds(1735689600));
  }

  std::string Emit(RotationRecord* r, const std::string& type, int64_t generation) {
    AuditFact fact;
    fact.type = type;
    fact.data["generation"] = generation;
    fact.data["phase"] = std::string("active");
    fact.data["note"] = std::string("control \x01 and \"quotes\" and ü");
    now_ = now_ + Duration::Seconds(1);
    return ChainAuditEvent(hasher_, fact, now_, "rotor://node-1", r);
  }

  // Lines: a1 a2 b1 a3 b2 a4.
  // Each call starts both chains afresh, so it returns the same lines.
  std::vector<std::string> Chain() {
    record_ = NewRecord("svc-a", "payments", CredentialKind::kApiKey, Instant::FromSeconds(1735689600));
    other_ = NewRecord("svc-b", "payments", CredentialKind::kApiKey, Instant::FromSeconds(1735689600));
    now_ = Instant::FromSeconds(1735689600);
    std::vector<std::string> lines;
    lines.push_back(Emit(&record_, "identity.declared", 0));
    lines.push_back(Emit(&record_, "rotation.started", 1));
    lines.push_back(Emit(&other_, "identity.declared", 0));
    lines.push_back(Emit(&record_, "credential.issued", 1));
    lines.push_back(Emit(&other_, "rotation.started", 1));
    lines.push_back(Emit(&record_, "rotation.committed", 1));
    return lines;
  }

  // Verify feeds `lines` to a fresh verifier; returns the first error.
  Status Verify(const std::vector<std::string>& lines) {
    ChainVerifier v(hasher_);
    for (size_t i = 0; i < lines.size(); ++i) {
      Status s = v.Feed(lines[i]);
      if (!s.ok()) return Status(s.code(), "line " + std::to_string(i + 1) + ": " + s.message());
    }
    return Status::Ok();
  }

  // Rewrite parses a line, lets `edit` change it and writes it canonically.
  static std::string Rewrite(const std::string& line, const std::function<void(JsonValue&)>& edit) {
    JsonValue v = *ParseJson(line);
    edit(v);
    return CanonicalJson(v);
  }

  FakeHasher hasher_;
  RotationRecord record_;
  RotationRecord other_;
  Instant now_ = Instant::FromSeconds(1735689600);
};

TEST_F(AuditChainTest, EventShape) {
  const std::string line = Emit(&record_, "rotation.committed", 7);
  JsonValue ev = MustParse(line);
  EXPECT_EQ(CanonicalJson(ev), line);
  EXPECT_EQ(ev.Find("specversion")->as_string(), "1.0");
  EXPECT_EQ(ev.Find("id")->as_string(), "svc-a/00000000000000000001");
  EXPECT_EQ(ev.Find("source")->as_string(), "rotor://node-1");
  EXPECT_EQ(ev.Find("type")->as_string(), "dev.rotor.rotation.committed");
  EXPECT_EQ(ev.Find("subject")->as_string(), "svc-a");
  EXPECT_EQ(ev.Find("time")->as_string(), "2025-01-01T00:00:01.000Z");
  EXPECT_EQ(ev.Find("datacontenttype")->as_string(), "application/json");
  EXPECT_EQ(ev.Find("sequence")->as_string(), "00000000000000000001");
  EXPECT_EQ(ev.Find("prevhash")->as_string(), kGenesisHash);
  EXPECT_EQ(ev.Find("data")->Find("generation")->as_int(), 7);
  EXPECT_EQ(ev.Find("hash")->as_string().size(), 64u);
  // The record now holds the chain head.
  EXPECT_EQ(record_.chain_seq, 1u);
  EXPECT_EQ(record_.chain_hash, ev.Find("hash")->as_string());
  // hash = H(prevhash ‖ canonical event without "hash").
  JsonValue without = ev;
  without.Erase("hash");
  EXPECT_EQ(ev.Find("hash")->as_string(), HexSha256(hasher_, std::string(kGenesisHash) + CanonicalJson(without)));
  EXPECT_EQ(EventHash(hasher_, ev), ev.Find("hash")->as_string());
  // CloudEvents extension names are lowercase alphanumerics.
  for (const auto& [key, value] : ev.members()) {
    for (char c : key) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << key;
  }
}

// ChainAuditEvent writes the canonical form member by member; it must equal
// the canonical JSON of the same event built as a JsonValue, for any data and
// any id or source, including bytes that are escaped.
TEST_F(AuditChainTest, EventEqualsTheCanonicalFormOfItsJsonValue) {
  RotationRecord r = NewRecord("svc \"q\" \\ \x7f", "payments", CredentialKind::kApiKey, now_);
  r.chain_seq = 41;
  r.chain_hash = std::string(64, 'a');
  AuditFact fact;
  fact.type = "rotation.failed";
  fact.data["a"] = int64_t{-5};
  fact.data["data"] = std::string("nested key that sorts first");
  fact.data["hash"] = std::string("not the hash");
  fact.data["zz"] = std::string("tab\there, newline\n, NUL-free control \x1f, \xc3\xbc");
  const std::string source = "/rotor/node\\1";
  const RotationRecord before = r;
  const std::string line = ChainAuditEvent(hasher_, fact, now_, source, &r);

  JsonValue data = JsonValue::Object();
  data.Set("a", JsonValue::Int(-5));
  data.Set("data", JsonValue::String("nested key that sorts first"));
  data.Set("hash", JsonValue::String("not the hash"));
  data.Set("zz", JsonValue::String("tab\there, newline\n, NUL-free control \x1f, \xc3\xbc"));
  JsonValue event = JsonValue::Object();
  event.Set("specversion", JsonValue::String("1.0"));
  event.Set("id", JsonValue::String(before.id + "/" + FormatSequence(42)));
  event.Set("source", JsonValue::String(source));
  event.Set("type", JsonValue::String("dev.rotor.rotation.failed"));
  event.Set("subject", JsonValue::String(before.id));
  event.Set("time", JsonValue::String(FormatRfc3339(now_)));
  event.Set("datacontenttype", JsonValue::String("application/json"));
  event.Set("data", std::move(data));
  event.Set("sequence", JsonValue::String(FormatSequence(42)));
  event.Set("prevhash", JsonValue::String(before.chain_hash));
  const std::string hash = EventHash(hasher_, event);
  event.Set("hash", JsonValue::String(hash));
  EXPECT_EQ(line, CanonicalJson(event));
  EXPECT_EQ(r.chain_seq, 42u);
  EXPECT_EQ(r.chain_hash, hash);
}

TEST_F(AuditChainTest, SequencesOrderLexicographically) {
  EXPECT_EQ(FormatSequence(0), "00000000000000000000");
  EXPECT_EQ(FormatSequence(18446744073709551615ULL), "18446744073709551615");
  EXPECT_LT(FormatSequence(9), FormatSequence(10));
  EXPECT_LT(FormatSequence(99999), FormatSequence(100000));
}

TEST_F(AuditChainTest, ChainVerifies) {
  const auto lines = Chain();
  ChainVerifier v(hasher_);
  for (const auto& l : lines) ASSERT_TRUE(v.Feed(l).ok()) << v.Feed(l).ToString();
  EXPECT_EQ(v.events(), 6u);
  ASSERT_EQ(v.heads().size(), 2u);
  EXPECT_EQ(v.heads().at("svc-a").seq, 4u);
  EXPECT_EQ(v.heads().at("svc-a").hash, record_.chain_hash);
  EXPECT_EQ(v.heads().at("svc-b").seq, 2u);
  EXPECT_EQ(v.heads().at("svc-b").hash, other_.chain_hash);
}

TEST_F(AuditChainTest, ChainContinuesFromAStoredHead) {
  // The head lives in the record: a record decoded after a restart continues
  // the chain with no gap.
  std::vector<std::string> lines = Chain();
  auto reloaded = DecodeRecord(EncodeRecord(record_));
  ASSERT_TRUE(reloaded.ok());
  RotationRecord r = *reloaded;
  lines.push_back(Emit(&r, "credential.retired", 0));
  EXPECT_TRUE(Verify(lines).ok()) << Verify(lines).ToString();
}

struct Tamper {
  const char* name;
  size_t line;  // index into the a1 a2 b1 a3 b2 a4 chain
  std::function<void(JsonValue&)> edit;
  const char* error;
};

TEST_F(AuditChainTest, DetectsTampering) {
  const std::vector<Tamper> cases = {
      {"data altered", 3, [](JsonValue& v) { v.members()["data"].Set("generation", JsonValue::Int(2)); },
       "hash mismatch at sequence 3 (the event was altered)"},
      {"data member added", 1, [](JsonValue& v) { v.members()["data"].Set("extra", JsonValue::Int(1)); },
       "hash mismatch"},
      {"type altered", 5, [](JsonValue& v) { v.Set("type", JsonValue::String("dev.rotor.rotation.failed")); },
       "hash mismatch"},
      {"time altered", 0, [](JsonValue& v) { v.Set("time", JsonValue::String("2030-01-01T00:00:00.000Z")); },
       "hash mismatch"},
      {"hash altered", 1, [](JsonValue& v) { v.Set("hash", JsonValue::String(std::string(64, 'f'))); },
       "hash mismatch"},
      {"prevhash altered", 3, [](JsonValue& v) { v.Set("prevhash", JsonValue::String(std::string(64, '0'))); },
       "prevhash does not match"},
      {"sequence skips", 3, [](JsonValue& v) { v.Set("sequence", JsonValue::String(FormatSequence(4))); },
       "sequence jumps from 2 to 4"},
      {"sequence repeats", 3, [](JsonValue& v) { v.Set("sequence", JsonValue::String(FormatSequence(2))); },
       "repeats or goes back"},
      {"sequence not padded", 3, [](JsonValue& v) { v.Set("sequence", JsonValue::String("3")); }, "20 decimal digits"},
      {"sequence beyond uint64", 3, [](JsonValue& v) { v.Set("sequence", JsonValue::String("99999999999999999999")); },
       "sequence"},
      {"sequence is a number", 3, [](JsonValue& v) { v.Set("sequence", JsonValue::Int(3)); }, "non-string attribute"},
      {"subject moved to another chain", 3, [](JsonValue& v) { v.Set("subject", JsonValue::String("svc-b")); },
       "svc-b"},
      {"hash missing", 0, [](JsonValue& v) { v.Erase("hash"); }, "missing or non-string attribute \"hash\""},
      {"specversion", 0, [](JsonValue& v) { v.Set("specversion", JsonValue::String("0.3")); }, "specversion"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto lines = Chain();
    lines[c.line] = Rewrite(lines[c.line], c.edit);
    Status s = Verify(lines);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find(c.error), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("line " + std::to_string(c.line + 1) + ":"), std::string::npos) << s.message();
  }
}

TEST_F(AuditChainTest, DetectsStructuralTampering) {
  {
    auto lines = Chain();
    lines.insert(lines.begin() + 4, lines[3]);  // a3 twice
    Status s = Verify(lines);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("line 5: identity svc-a: sequence 3 repeats"), std::string::npos) << s.message();
  }
  {
    auto lines = Chain();
    lines.erase(lines.begin() + 3);  // a3 dropped
    Status s = Verify(lines);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("sequence jumps from 2 to 4 (events missing)"), std::string::npos) << s.message();
  }
  {
    auto lines = Chain();
    std::swap(lines[3], lines[5]);  // a3 and a4 reordered
    EXPECT_FALSE(Verify(lines).ok());
  }
  {
    auto lines = Chain();
    lines.erase(lines.begin());  // genesis dropped
    Status s = Verify(lines);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("line 1:"), std::string::npos) << s.message();
  }
  {
    // Interleaving of different identities does not matter; the order within one does.
    auto lines = Chain();
    std::swap(lines[2], lines[3]);  // b1 and a3
    EXPECT_TRUE(Verify(lines).ok());
  }
  {
    // A rewritten but valid-looking chain: recomputing the hash of an altered
    // event breaks the link of the next one.
    auto lines = Chain();
    lines[1] = Rewrite(lines[1], [&](JsonValue& v) {
      v.members()["data"].Set("generation", JsonValue::Int(99));
      v.Set("hash", JsonValue::String(EventHash(hasher_, v)));
    });
    Status s = Verify(lines);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("line 4: identity svc-a: prevhash does not match"), std::string::npos) << s.message();
  }
}

TEST_F(AuditChainTest, RejectsNonCanonicalAndMalformedLines) {
  auto lines = Chain();
  const std::string& l = lines[0];
  ChainVerifier v(hasher_);
  // Same content, extra whitespace: not what rotor wrote.
  std::string spaced = l;
  spaced.insert(1, " ");
  Status s = v.Feed(spaced);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not in canonical form"), std::string::npos);
  EXPECT_FALSE(v.Feed(l + "\n").ok());
  EXPECT_FALSE(v.Feed("").ok());
  EXPECT_FALSE(v.Feed("[]").ok());
  EXPECT_FALSE(v.Feed(l.substr(0, l.size() / 2)).ok());
  EXPECT_EQ(v.events(), 0u);
  EXPECT_TRUE(v.Feed(l).ok());  // and the verifier is still usable
}

TEST_F(AuditChainTest, EveryByteFlipIsDetected) {
  const auto lines = Chain();
  for (size_t target = 0; target < lines.size(); ++target) {
    for (size_t pos = 0; pos < lines[target].size(); ++pos) {
      auto copy = lines;
      copy[target][pos] = static_cast<char>(copy[target][pos] ^ 0x01);
      ASSERT_FALSE(Verify(copy).ok()) << "flip at line " << target + 1 << " byte " << pos << ": " << copy[target];
    }
  }
}

}  // namespace
}  // namespace rotor
