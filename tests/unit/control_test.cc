// The control-socket protocol (app/control.h) and the crash hook's spec
// (app/crash_hook.h): every malformed input is an error that says what is
// wrong, never a crash; well-formed messages round-trip.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "app/control.h"
#include "app/crash_hook.h"
#include "tests/support/test_paths.h"

namespace rotor::app {
namespace {

TEST(ControlProtocolTest, RequestsRoundTrip) {
  ControlRequest r;
  r.op = "rotate";
  r.ids = {"a", "b-1"};
  auto back = DecodeControlRequest(EncodeControlRequest(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->op, "rotate");
  EXPECT_EQ(back->ids, (std::vector<std::string>{"a", "b-1"}));

  ControlRequest w;
  w.op = "rotate";
  w.all = true;
  w.list_accepted = true;
  back = DecodeControlRequest(EncodeControlRequest(w));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->list_accepted);
  EXPECT_FALSE(DecodeControlRequest(R"({"op":"rotate","all":true,"list_accepted":"yes"})").ok());

  ControlRequest s;
  s.op = "revoke";
  s.selector_key = "team";
  s.selector_value = "pay=ments";
  s.compromised = true;
  back = DecodeControlRequest(EncodeControlRequest(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->selector_key, "team");
  EXPECT_EQ(back->selector_value, "pay=ments");
  EXPECT_TRUE(back->compromised);

  for (const char* op : {"ping", "stats", "reload"}) {
    ControlRequest p;
    p.op = op;
    back = DecodeControlRequest(EncodeControlRequest(p));
    ASSERT_TRUE(back.ok()) << op;
    EXPECT_EQ(back->op, op);
  }
}

TEST(ControlProtocolTest, MalformedRequestsNameTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {"{}", "\"op\""},
      {"{\"op\":7}", "\"op\""},
      {"{\"op\":\"explode\"}", "unknown control op \"explode\""},
      {"{\"op\":\"rotate\",\"ids\":\"a\"}", "\"ids\" must be an array"},
      {"{\"op\":\"rotate\",\"ids\":[1]}", "\"ids\" must be an array of strings"},
      {"{\"op\":\"rotate\",\"selector\":\"noequals\"}", "key=value"},
      {"{\"op\":\"rotate\",\"selector\":\"=v\"}", "key=value"},
      {"{\"op\":\"rotate\",\"selector\":3}", "\"selector\" must be a string"},
      {"{\"op\":\"rotate\",\"all\":\"yes\"}", "\"all\" must be a boolean"},
      {"{\"op\":\"revoke\",\"compromised\":1}", "\"compromised\" must be a boolean"},
  };
  for (const auto& [line, want] : cases) {
    auto r = DecodeControlRequest(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << line;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << line << " -> " << r.status().message();
  }
}

TEST(ControlProtocolTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937_64 rng(20261204);
  const std::string seed = R"({"op":"rotate","ids":["a","b"],"selector":"k=v","all":false,"compromised":true})";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: s.insert(pos, 1, static_cast<char>(rng() % 256)); break;
        case 1:
          if (pos < s.size()) s.erase(pos, 1);
          break;
        default:
          if (pos < s.size()) s[pos] = static_cast<char>(rng() % 256);
          break;
      }
    }
    auto r = DecodeControlRequest(s);
    if (r.ok()) ++accepted;
    (void)DecodeControlReply(s);
  }
  // Most mutations break the message; some (e.g. in a string) still parse.
  EXPECT_LT(accepted, 20000);
}

TEST(ControlProtocolTest, RepliesRoundTripAndBadRepliesAreErrors) {
  ControlReply r;
  r.ok = false;
  r.accepted = 3;
  r.refused = {{"x", "is retired"}};
  r.message = "3 accepted, 1 refused";
  r.stats = {{"rotations_committed", 42}};
  r.accepted_ids = {"a", "b", "c"};
  auto back = DecodeControlReply(EncodeControlReply(r));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->ok);
  EXPECT_EQ(back->accepted, 3u);
  ASSERT_EQ(back->refused.size(), 1u);
  EXPECT_EQ(back->refused[0].second, "is retired");
  EXPECT_EQ(back->stats.at("rotations_committed"), 42u);
  EXPECT_EQ(back->accepted_ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(DecodeControlReply("not json").ok());
  EXPECT_FALSE(DecodeControlReply("[]").ok());
}

TEST(ControlProtocolTest, NoDaemonIsUnavailable) {
  ControlRequest p;
  p.op = "ping";
  auto r = SendControlRequest("/nonexistent-dir/control.sock", p, Duration::Seconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

// The process umask as /proc/self/status reports it (reading it with umask(2)
// would change it); -1 when the kernel does not say.
int CurrentUmask() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<int>(std::stol(line.substr(6), nullptr, 8));
  }
  return -1;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

TEST(ControlServerTest, SocketIsOwnerOnlyAndAnswers) {
  rotor::testing::TempDir dir("rotor-control");
  const std::string path = ControlSocketPath(dir.path());
  const int umask_before = CurrentUmask();
  ControlServer server;
  ASSERT_TRUE(server
                  .Start(path,
                         [](const ControlRequest& req) {
                           ControlReply r;
                           r.message = "pong:" + req.op;
                           return r;
                         })
                  .ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(CurrentUmask(), umask_before);
  // Nothing but the socket is left beside it (no staging directory).
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{"control.sock"});
  ControlRequest ping;
  ping.op = "ping";
  auto reply = SendControlRequest(path, ping, Duration::Seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->message, "pong:ping");
}

// Starting the control server must not change the process umask, not even
// for an instant: the daemon's file worker creates identity directories at
// the same time, and a narrowed umask once made them 0600 instead of 0700
// (those identities then failed every delivery until quarantined). Another
// thread creates directories throughout 200 starts; every one must be 0700.
TEST(ControlServerTest, StartingLeavesConcurrentDirectoryModesAlone) {
  rotor::testing::TempDir dir("rotor-control");
  const std::string made = dir.path() + "/made";
  ASSERT_EQ(mkdir(made.c_str(), 0700), 0);
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0}, created{0};
  std::thread maker([&] {
    for (int i = 0; !done.load(); ++i) {
      const std::string d = made + "/" + std::to_string(i);
      if (mkdir(d.c_str(), 0700) != 0) continue;
      created++;
      struct stat st {};
      if (stat(d.c_str(), &st) != 0 || (st.st_mode & 0777) != (0700 & ~static_cast<unsigned>(CurrentUmask()))) wrong++;
      rmdir(d.c_str());
    }
  });
  for (int i = 0; i < 200; ++i) {
    ControlServer server;
    ASSERT_TRUE(server.Start(ControlSocketPath(dir.path()), [](const ControlRequest&) { return ControlReply{}; }).ok());
    server.Stop();
  }
  done = true;
  maker.join();
  EXPECT_GT(created.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "of " << created.load() << " directories";
}

TEST(CrashHookTest, ParsesItsSpecAndRefusesAnythingElse) {
  EXPECT_TRUE(CrashHook::Parse("after:activate:3").ok());
  EXPECT_TRUE(CrashHook::Parse("before:generate:1").ok());
  for (const char* bad : {"", "after", "after:activate", "during:activate:1", "after:explode:1", "after:activate:0",
                          "after:activate:-2", "after:activate:x", "after:activate:1:2"}) {
    auto h = CrashHook::Parse(bad);
    EXPECT_FALSE(h.ok()) << bad;
    if (!h.ok()) {
      EXPECT_NE(h.status().message().find("ROTOR_CRASH_AT"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace rotor::app
