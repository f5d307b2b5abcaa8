// A WebSocket client for end-to-end tests: connects to 127.0.0.1:<port><target> with the token
// in Sec-WebSocket-Protocol ("bearer, <token>", as browsers do) and collects every text message
// as JSON on a background thread until the server closes or the client goes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vontres::testing {

class WebSocketClient {
 public:
  // Throws (boost::system::system_error) when the connection or the handshake fails.
  WebSocketClient(uint16_t port, const std::string& token, const std::string& target);
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  std::vector<nlohmann::json> messages() const;
  // Waits until `pred` holds for some message; the message, or nullopt after `timeout`.
  std::optional<nlohmann::json> wait_for(const std::function<bool(const nlohmann::json&)>& pred,
                                         std::chrono::milliseconds timeout) const;
  // True once the server closed the connection (or it broke).
  bool closed() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The port of a URL such as "http://127.0.0.1:8080".
uint16_t port_of(const std::string& url);

}  // namespace vontres::testing
