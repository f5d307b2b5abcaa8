#include "ai/service/media_stream_routes.h"

#include <memory>
#include <utility>

#include "telephony/media_stream/stream_codec.h"

namespace vontres::ai::service {

namespace {

class MediaStreamSession final : public api::WebSocketSession {
 public:
  MediaStreamSession(telephony::rtp::MediaTap& tap, Clock& clock, const std::shared_ptr<api::WebSocketConnection>& conn)
      : reader_(tap, clock), connection_(conn) {}

  void on_message(std::string_view text) override {
    if (failed_) return;
    Status handled = reader_.on_frame(text);
    if (handled.is_ok()) return;
    failed_ = true;
    if (auto conn = connection_.lock()) {
      conn->close_with(api::WebSocketConnection::kClosePolicyViolation, std::string(handled.code()));
    }
  }

 private:
  telephony::media_stream::LegStreamReader reader_;
  std::weak_ptr<api::WebSocketConnection> connection_;
  bool failed_ = false;
};

}  // namespace

bool media_token_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (token.empty() || authorization.size() != kScheme.size() + token.size()) return false;
  if (authorization.substr(0, kScheme.size()) != kScheme) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    difference |= static_cast<unsigned char>(authorization[kScheme.size() + i] ^ token[i]);
  }
  return difference == 0;
}

void register_media_stream_route(api::Router& router, telephony::rtp::MediaTap& tap, Clock& clock, std::string token) {
  api::RouteOptions options = api::route_options("ai", "", "Call audio of one call leg (Twilio Media Streams format)");
  options.public_route = true;  // authenticated below with the service credential, not a user's
  router.websocket(
      "/api/v1/ai/media", std::move(options),
      [&tap, &clock, token = std::move(token)](api::Request& req, const std::shared_ptr<api::WebSocketConnection>& conn)
          -> Result<std::unique_ptr<api::WebSocketSession>> {
        if (!media_token_matches(req.header("authorization").value_or(""), token)) {
          return unauthenticated("a call host's media token is required", "media_token_invalid");
        }
        return std::unique_ptr<api::WebSocketSession>(std::make_unique<MediaStreamSession>(tap, clock, conn));
      });
}

}  // namespace vontres::ai::service
