#include "app/control.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "app/log.h"
#include "engine/fleet.h"

namespace rotor::app {
namespace {

constexpr size_t kMaxRequest = 1 << 20;
// A reply may list every accepted id (rotate --all --wait of millions).
constexpr size_t kMaxReply = size_t{256} << 20;

using Json = nlohmann::json;

Status ReadLine(int fd, std::string* out, int timeout_ms, size_t max_bytes) {
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    size_t nl = out->find('\n');
    if (nl != std::string::npos) {
      out->resize(nl);
      return Status::Ok();
    }
    if (out->size() > max_bytes) {
      return InvalidArgument("control message longer than " + std::to_string(max_bytes >> 20) + " MiB");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Unavailable("timed out waiting on the control socket");
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      if (!out->empty()) return Status::Ok();  // last line without newline
      return Unavailable("control connection closed");
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

Status WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable(std::string("control socket write: ") + strerror(errno));
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string ControlSocketPath(const std::string& data_dir) {
  return data_dir + "/control.sock";
}

StatusOr<ControlRequest> DecodeControlRequest(std::string_view line) {
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("control request is not valid JSON");
  if (!j.is_object()) return InvalidArgument("control request must be a JSON object");
  ControlRequest r;
  auto op = j.find("op");
  if (op == j.end() || !op->is_string()) return InvalidArgument("control request needs a string \"op\"");
  r.op = op->get<std::string>();
  if (r.op != "rotate" && r.op != "revoke" && r.op != "ping" && r.op != "stats" && r.op != "reload") {
    return InvalidArgument("unknown control op \"" + r.op + "\" (rotate, revoke, ping, stats, reload)");
  }
  if (auto ids = j.find("ids"); ids != j.end()) {
    if (!ids->is_array()) return InvalidArgument("\"ids\" must be an array of strings");
    for (const auto& id : *ids) {
      if (!id.is_string()) return InvalidArgument("\"ids\" must be an array of strings");
      r.ids.push_back(id.get<std::string>());
    }
  }
  if (auto sel = j.find("selector"); sel != j.end()) {
    if (!sel->is_string()) return InvalidArgument("\"selector\" must be a string k=v");
    const std::string s = sel->get<std::string>();
    if (!ParseSelector(s, &r.selector_key, &r.selector_value)) {
      return InvalidArgument("selector \"" + s + "\" is not of the form key=value");
    }
  }
  if (auto all = j.find("all"); all != j.end()) {
    if (!all->is_boolean()) return InvalidArgument("\"all\" must be a boolean");
    r.all = all->get<bool>();
  }
  if (auto c = j.find("compromised"); c != j.end()) {
    if (!c->is_boolean()) return InvalidArgument("\"compromised\" must be a boolean");
    r.compromised = c->get<bool>();
  }
  if (auto l = j.find("list_accepted"); l != j.end()) {
    if (!l->is_boolean()) return InvalidArgument("\"list_accepted\" must be a boolean");
    r.list_accepted = l->get<bool>();
  }
  return r;
}

std::string EncodeControlRequest(const ControlRequest& r) {
  Json j;
  j["op"] = r.op;
  if (!r.ids.empty()) j["ids"] = r.ids;
  if (!r.selector_key.empty()) j["selector"] = r.selector_key + "=" + r.selector_value;
  if (r.all) j["all"] = true;
  if (r.compromised) j["compromised"] = true;
  if (r.list_accepted) j["list_accepted"] = true;
  return j.dump();
}

std::string EncodeControlReply(const ControlReply& r) {
  Json j;
  j["ok"] = r.ok;
  j["accepted"] = r.accepted;
  j["message"] = r.message;
  Json refused = Json::array();
  for (const auto& [id, why] : r.refused) refused.push_back({{"id", id}, {"error", why}});
  j["refused"] = refused;
  if (!r.stats.empty()) j["stats"] = r.stats;
  if (!r.accepted_ids.empty()) j["accepted_ids"] = r.accepted_ids;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<ControlReply> DecodeControlReply(std::string_view line) {
  Json j = Json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("daemon sent a malformed reply");
  ControlReply r;
  if (j.contains("ok") && j["ok"].is_boolean()) r.ok = j["ok"].get<bool>();
  if (j.contains("accepted") && j["accepted"].is_number_unsigned()) r.accepted = j["accepted"].get<uint64_t>();
  if (j.contains("message") && j["message"].is_string()) r.message = j["message"].get<std::string>();
  if (j.contains("refused") && j["refused"].is_array()) {
    for (const auto& item : j["refused"]) {
      if (item.is_object() && item.contains("id") && item["id"].is_string() && item.contains("error") &&
          item["error"].is_string()) {
        r.refused.emplace_back(item["id"].get<std::string>(), item["error"].get<std::string>());
      }
    }
  }
  if (j.contains("stats") && j["stats"].is_object()) {
    for (const auto& [name, value] : j["stats"].items()) {
      if (value.is_number_unsigned()) r.stats[name] = value.get<uint64_t>();
    }
  }
  if (j.contains("accepted_ids") && j["accepted_ids"].is_array()) {
    for (const auto& id : j["accepted_ids"]) {
      if (id.is_string()) r.accepted_ids.push_back(id.get<std::string>());
    }
  }
  return r;
}

namespace {

// BindPrivate binds `fd` to `path` as a socket only its owner may use, without
// touching the umask: the umask is process-wide, and narrowing it here once
// made the file worker's mkdir of an identity directory 0600 instead of 0700
// (the identity then failed delivery until its circuit breaker quarantined it).
// The socket is bound inside a fresh 0700 directory beside `path`, made 0600
// there, and renamed into place, so it is never reachable with wider bits.
Status BindPrivate(int fd, const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string dir = parent + "/.ctlXXXXXX";  // mkdtemp fills in the Xs
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::max(path.size(), dir.size() + 2) >= sizeof addr.sun_path) {
    return InvalidArgument("control socket path too long (" + std::to_string(path.size()) +
                           " bytes; use a shorter --data-dir): " + path);
  }
  if (mkdtemp(dir.data()) == nullptr) return Internal("control socket: mkdtemp " + dir + ": " + strerror(errno));
  const std::string bound = dir + "/s";
  std::memcpy(addr.sun_path, bound.c_str(), bound.size() + 1);
  Status s = Status::Ok();
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    s = Internal("control socket: bind " + bound + ": " + strerror(errno));
  } else if (chmod(bound.c_str(), 0600) != 0) {
    s = Internal("control socket: chmod " + bound + ": " + strerror(errno));
  } else if (rename(bound.c_str(), path.c_str()) != 0) {
    s = Internal("control socket: rename to " + path + ": " + strerror(errno));
  }
  unlink(bound.c_str());  // only left when a step failed
  rmdir(dir.c_str());
  return s;
}

}  // namespace

Status ControlServer::Start(const std::string& path, Handler handler) {
  path_ = path;
  handler_ = std::move(handler);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Internal(std::string("socket: ") + strerror(errno));
  // We hold the data directory's lock, so a socket file left here is stale.
  unlink(path.c_str());
  Status s = BindPrivate(listen_fd_, path);
  if (s.ok() && listen(listen_fd_, 64) != 0) s = Internal("control socket " + path + ": " + strerror(errno));
  if (!s.ok()) {
    close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void ControlServer::Stop() {
  if (listen_fd_ < 0) return;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  unlink(path_.c_str());
}

void ControlServer::Loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = poll(&p, 1, 200);
    if (r <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    close(fd);
  }
}

void ControlServer::Serve(int fd) {
  std::string line;
  ControlReply reply;
  Status s = ReadLine(fd, &line, 5000, kMaxRequest);
  if (!s.ok()) {
    reply.ok = false;
    reply.message = s.message();
  } else {
    auto req = DecodeControlRequest(line);
    if (!req.ok()) {
      reply.ok = false;
      reply.message = req.status().message();
    } else {
      reply = handler_(*req);
    }
  }
  (void)WriteAll(fd, EncodeControlReply(reply) + "\n");
}

StatusOr<ControlReply> SendControlRequest(const std::string& path, const ControlRequest& request, Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return InvalidArgument("control socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return Unavailable("no daemon answers at " + path + " (" + strerror(err) + ")");
  }
  Status w = WriteAll(fd, EncodeControlRequest(request) + "\n");
  std::string line;
  if (w.ok()) w = ReadLine(fd, &line, static_cast<int>(timeout.micros / 1000), kMaxReply);
  close(fd);
  if (!w.ok()) return w;
  return DecodeControlReply(line);
}

}  // namespace rotor::app
