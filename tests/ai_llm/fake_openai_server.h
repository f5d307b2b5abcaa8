// A scripted OpenAI-compatible HTTP peer for the client tests: listens on 127.0.0.1 (ephemeral
// port), records every raw request byte for byte, and answers each connection with the next scripted
// reply (raw bytes written piece by piece, optionally pausing between pieces or stalling after
// them). Optionally speaks TLS with a given certificate. Connections are served one at a time.
#pragma once

#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

namespace vontres::ai::llm::testing {

struct RecordedRequest {
  std::string raw;  // exactly what the client sent (head + body)
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct Reply {
  std::vector<std::string> pieces;   // written in order, each in its own write
  std::chrono::milliseconds gap{0};  // pause before each piece after the first
  bool stall = false;                // then keep the connection open until the client gives up
};

inline std::string lower_ascii(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A complete response with Content-Length.
inline Reply json_reply(int status, const std::string& body, const std::vector<std::string>& extra_headers = {}) {
  std::string head = "HTTP/1.1 " + std::to_string(status) +
                     " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n";
  for (const auto& header : extra_headers) head += header + "\r\n";
  return Reply{{head + "\r\n" + body}};
}

// An event-stream response in chunked transfer encoding; each element of `body_pieces` becomes one
// HTTP chunk written separately (so SSE frames can be split anywhere).
inline Reply sse_reply(const std::vector<std::string>& body_pieces, std::chrono::milliseconds gap = {},
                       bool stall_after = false) {
  Reply reply;
  reply.pieces.push_back(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  for (const auto& piece : body_pieces) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    reply.pieces.push_back(size + piece + "\r\n");
  }
  if (!stall_after) reply.pieces.emplace_back("0\r\n\r\n");
  reply.gap = gap;
  reply.stall = stall_after;
  return reply;
}

inline std::string delta_event(const std::string& content) {
  return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" +
         nlohmann::json(content).dump() + "},\"finish_reason\":null}]}\n\n";
}

class FakeOpenAiServer {
 public:
  // With `tls` set, every connection does a TLS handshake with that context first.
  explicit FakeOpenAiServer(boost::asio::ssl::context* tls = nullptr)
      : tls_(tls), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeOpenAiServer() {
    stopping_ = true;
    try {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket poke(io);
      poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    } catch (...) {  // NOLINT(bugprone-empty-catch): the acceptor is gone already
    }
    thread_.join();
  }
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  void enqueue(Reply reply) {
    const std::lock_guard lock(mutex_);
    replies_.push_back(std::move(reply));
  }
  unsigned short port() const { return port_; }
  std::string base_url(const std::string& scheme = "http") const {
    return scheme + "://" + std::string(tls_ != nullptr ? "localhost" : "127.0.0.1") + ":" + std::to_string(port_) +
           "/v1";
  }
  std::vector<RecordedRequest> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    while (true) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      ++connections_;
      if (tls_ != nullptr) {
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream(socket, *tls_);
        stream.handshake(boost::asio::ssl::stream_base::server, ec);
        if (!ec) handle(stream);
      } else {
        handle(socket);
      }
    }
  }

  template <typename Stream>
  void handle(Stream& stream) {
    boost::system::error_code ec;
    std::string raw;
    char buffer[4096];
    std::size_t head_end = std::string::npos;
    while ((head_end = raw.find("\r\n\r\n")) == std::string::npos) {
      const std::size_t n = stream.read_some(boost::asio::buffer(buffer), ec);
      if (ec) return;
      raw.append(buffer, n);
    }
    RecordedRequest request;
    const std::string head = raw.substr(0, head_end);
    const auto line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const auto space1 = request_line.find(' ');
    const auto space2 = request_line.find(' ', space1 + 1);
    request.method = request_line.substr(0, space1);
    request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
    for (std::size_t at = line_end + 2; at < head.size();) {
      auto next = head.find("\r\n", at);
      if (next == std::string::npos) next = head.size();
      const std::string line = head.substr(at, next - at);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        request.headers[lower_ascii(line.substr(0, colon))] = value;
      }
      at = next + 2;
    }
    std::size_t length = 0;
    if (const auto it = request.headers.find("content-length"); it != request.headers.end()) {
      length = std::stoul(it->second);
    }
    while (raw.size() < head_end + 4 + length) {
      const std::size_t n = stream.read_some(boost::asio::buffer(buffer), ec);
      if (ec) return;
      raw.append(buffer, n);
    }
    request.body = raw.substr(head_end + 4, length);
    request.raw = raw;
    Reply reply;
    {
      const std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      if (replies_.empty()) {
        reply = json_reply(500, R"({"error":{"message":"no scripted reply"}})");
      } else {
        reply = std::move(replies_.front());
        replies_.pop_front();
      }
    }
    for (std::size_t i = 0; i < reply.pieces.size(); ++i) {
      if (i > 0 && reply.gap.count() > 0) std::this_thread::sleep_for(reply.gap);
      boost::asio::write(stream, boost::asio::buffer(reply.pieces[i]), ec);
      if (ec) return;
    }
    if (reply.stall) {
      // Hold the connection until the client closes it (its timeout).
      while (!ec) stream.read_some(boost::asio::buffer(buffer), ec);
    }
  }

  boost::asio::ssl::context* tls_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::deque<Reply> replies_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace vontres::ai::llm::testing
