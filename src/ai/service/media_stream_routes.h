// GET /api/v1/ai/media: call hosts stream each call leg's audio here over a WebSocket, one
// connection per leg, in Twilio's Media Streams message format (telephony/media_stream). Frames
// are decoded and handed to a MediaTap (the AiService), the same entry the in-process tap uses, so
// SIP calls and (later) Twilio calls share one AI pipeline.
//
// Authentication: a call host is not a user of one organisation — it streams the calls of every
// organisation it serves — so it presents a service credential, a shared secret (the contents of
// ai.media_token_file, or a random per-process token when the AI runs in the call host's process)
// as "Authorization: Bearer <token>" on the upgrade request. The route is therefore registered as
// public to the user dispatcher and checks the token itself, in constant time; the organisation of
// each stream comes from its start message, trusted because of that credential.
//
// A frame that does not parse, or media before start, closes the connection (policy violation).
// Thread-safety: each connection's frames arrive on its own strand; the tap must be thread-safe.
#pragma once

#include <string>

#include "api/http.h"
#include "core/clock.h"
#include "telephony/rtp/media_tap.h"

namespace vontres::ai::service {

// Registers the route. `tap` and `clock` must outlive the server; `token` must not be empty.
void register_media_stream_route(api::Router& router, telephony::rtp::MediaTap& tap, Clock& clock, std::string token);

// True when `authorization` is exactly "Bearer <token>" (constant-time in the token's length).
bool media_token_matches(std::string_view authorization, std::string_view token);

}  // namespace vontres::ai::service
