#include "support/websocket_client.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace vontres::testing {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::asio::ip::tcp;
using nlohmann::json;

struct WebSocketClient::State {
  boost::asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  std::thread reader;
  mutable std::mutex mutex;
  std::vector<json> messages;  // GUARDED_BY(mutex)
  std::atomic<bool> closed{false};
};

WebSocketClient::WebSocketClient(uint16_t port, const std::string& token, const std::string& target)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& request) {
    request.set(beast::http::field::sec_websocket_protocol, "bearer, " + token);
  }));
  tcp::resolver resolver(s.io);
  boost::asio::connect(s.ws.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
  s.ws.handshake("127.0.0.1", target);
  s.reader = std::thread([&s] {
    beast::error_code ec;
    while (true) {
      beast::flat_buffer buffer;
      s.ws.read(buffer, ec);
      if (ec) break;
      json message = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
      std::lock_guard lock(s.mutex);
      s.messages.push_back(std::move(message));
    }
    s.closed = true;
  });
}

WebSocketClient::~WebSocketClient() {
  beast::error_code ec;
  state_->ws.next_layer().shutdown(tcp::socket::shutdown_both, ec);
  state_->ws.next_layer().close(ec);
  if (state_->reader.joinable()) state_->reader.join();
}

std::vector<json> WebSocketClient::messages() const {
  std::lock_guard lock(state_->mutex);
  return state_->messages;
}

std::optional<json> WebSocketClient::wait_for(const std::function<bool(const json&)>& pred,
                                              std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& m : messages()) {
      if (pred(m)) return m;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

bool WebSocketClient::closed() const { return state_->closed; }

uint16_t port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return colon == std::string::npos ? 0 : static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
}

}  // namespace vontres::testing
