// WebSocketMediaTap: the call host's MediaTap when the AI runs elsewhere (ai.media_transport:
// websocket). Each call leg (leg id + speaker) gets its own WebSocket to the AI service's
// GET /api/v1/ai/media, in Twilio Media Streams format (LegStreamWriter).
//
// on_audio/on_dtmf never block the media strand: they encode and push into the leg's
// BoundedFrameQueue and return; a full queue drops the frame and counts it (dropped_frames()).
// One I/O thread drains the queues and writes the sockets.
// Reconnect policy: a failed connect or write closes the leg's socket and drops that batch; the
// next batch reconnects and re-sends connected + start first, so the AI sees one stream with a
// gap. Only ws:// for now (wss:// is not implemented).
// Known limit: the I/O thread uses blocking socket operations without a timeout, so an AI that
// accepts TCP and then never reads stalls the streaming of every leg of this tap (never the
// media: on_audio still returns at once and counts drops). Async operations with deadlines are
// the next step.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "telephony/media_stream/stream_codec.h"
#include "telephony/rtp/media_tap.h"

namespace vontres::telephony::media_stream {

struct WebSocketMediaTapOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string target = "/api/v1/ai/media";
  std::string token;          // sent as "Authorization: Bearer <token>"
  size_t queue_frames = 250;  // per leg: 5 s of 20 ms frames
  std::string node_id = "node-1";
};

class WebSocketMediaTap final : public rtp::MediaTap {
 public:
  // `identify` names the call and organisation of a leg id (called once per new leg, on the
  // media strand; must not block).
  using Identify = std::function<LegStreamIdentity(std::string_view leg_id, rtp::Speaker speaker)>;
  WebSocketMediaTap(WebSocketMediaTapOptions options, Identify identify);
  ~WebSocketMediaTap() override;  // joins the I/O thread; frames still queued are not sent
  WebSocketMediaTap(const WebSocketMediaTap&) = delete;
  WebSocketMediaTap& operator=(const WebSocketMediaTap&) = delete;

  void on_audio(std::string_view leg_id, rtp::Speaker speaker, std::span<const int16_t> pcm,
                TimePoint timestamp) override;
  void on_dtmf(std::string_view leg_id, rtp::Speaker speaker, char digit, TimePoint timestamp) override;
  // Sends stop on both of the leg's streams and closes them once drained.
  void end_leg(std::string_view leg_id);

  // Frames dropped by a full queue or lost with a failed connection, over all legs ever.
  uint64_t dropped_frames() const;
  uint64_t legs_open() const;

 private:
  struct Leg;
  std::shared_ptr<Leg> leg(std::string_view leg_id, rtp::Speaker speaker, TimePoint now);
  void run();
  void flush(Leg& leg);

  const WebSocketMediaTapOptions options_;
  const Identify identify_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Leg>> legs_;  // GUARDED_BY(mutex_)
  uint64_t retired_dropped_ = 0;                      // ended legs' drops and failed batches; GUARDED_BY(mutex_)
  bool stopping_ = false;                             // GUARDED_BY(mutex_)
  std::thread io_thread_;
};

}  // namespace vontres::telephony::media_stream
