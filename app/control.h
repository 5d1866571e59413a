// The control socket: how CLI commands reach a running daemon (ARCHITECTURE §7).
//
// A Unix stream socket at <data-dir>/control.sock (mode 0600). Protocol: the
// client sends one JSON object on one line, the daemon answers with one JSON
// object on one line, then closes. Requests:
//   {"op":"rotate","ids":["a","b"]} | {"op":"rotate","selector":"k=v"} | {"op":"rotate","all":true}
//   {"op":"revoke","ids":["a"],"compromised":true}
//   rotate and revoke may add "list_accepted":true: the reply then names every
//   accepted id in "accepted_ids" (what `rotor rotate --wait` waits for)
//   {"op":"ping"}
//   {"op":"stats"}   the daemon's counters, in "stats"
//   {"op":"reload"}  re-read the fleet file (as SIGHUP does)
// Answer: {"ok":bool,"accepted":N,"refused":[{"id":..,"error":..}],"message":"..","stats":{name:N},
//          "accepted_ids":[..]}
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"

namespace rotor::app {

struct ControlRequest {
  std::string op;  // rotate | revoke | ping | stats | reload
  std::vector<std::string> ids;
  std::string selector_key, selector_value;
  bool all = false;
  bool compromised = false;
  bool list_accepted = false;  // rotate/revoke: name every accepted id in the reply
};

struct ControlReply {
  bool ok = true;
  uint64_t accepted = 0;
  std::vector<std::pair<std::string, std::string>> refused;  // (id, reason)
  std::string message;
  std::map<std::string, uint64_t> stats;  // op "stats" only
  std::vector<std::string> accepted_ids;  // when the request set list_accepted
};

// DecodeControlRequest parses one request line; malformed input is an
// InvalidArgument naming what is wrong.
StatusOr<ControlRequest> DecodeControlRequest(std::string_view line);
std::string EncodeControlRequest(const ControlRequest& request);
std::string EncodeControlReply(const ControlReply& reply);
StatusOr<ControlReply> DecodeControlReply(std::string_view line);

std::string ControlSocketPath(const std::string& data_dir);

// ControlServer serves requests on its own thread, one at a time.
class ControlServer {
 public:
  using Handler = std::function<ControlReply(const ControlRequest&)>;
  ControlServer() = default;
  ~ControlServer() { Stop(); }
  Status Start(const std::string& path, Handler handler);
  void Stop();

 private:
  void Loop();
  void Serve(int fd);

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// SendControlRequest sends `request` to the daemon at `path`. Unavailable when
// no daemon listens there.
StatusOr<ControlReply> SendControlRequest(const std::string& path, const ControlRequest& request, Duration timeout);

}  // namespace rotor::app
