// Fuzz target: the control-socket protocol decoder (app/control.h). Any line
// decodes or fails with a message; a decoded request re-encodes to a line
// that decodes to the same request.
#include <string_view>

#include "app/control.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

bool Same(const rotor::app::ControlRequest& a, const rotor::app::ControlRequest& b) {
  return a.op == b.op && a.ids == b.ids && a.selector_key == b.selector_key && a.selector_value == b.selector_value &&
         a.all == b.all && a.compromised == b.compromised;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto request = rotor::app::DecodeControlRequest(line);
  if (request.ok()) {
    auto again = rotor::app::DecodeControlRequest(rotor::app::EncodeControlRequest(*request));
    rotor::fuzz::FuzzCheck(again.ok(), "a decoded request re-encodes to a valid line");
    rotor::fuzz::FuzzCheck(Same(*request, *again), "a request survives encode/decode unchanged");
  } else {
    rotor::fuzz::FuzzCheck(!request.status().message().empty(), "a refused request says why");
  }
  auto reply = rotor::app::DecodeControlReply(line);
  if (reply.ok()) {
    auto again = rotor::app::DecodeControlReply(rotor::app::EncodeControlReply(*reply));
    rotor::fuzz::FuzzCheck(again.ok(), "a decoded reply re-encodes to a valid line");
  }
  return 0;
}
