// One call leg's media on Asio: an RTP and an RTCP UDP socket, the sender (20 ms G.711 frames from
// an AudioSource, a bridge peer, or RFC 4733 DTMF) and the receiver (symmetric-RTP latching,
// jitter buffer, decoding, DTMF detection, RTCP SR/RR every ~5 s, inactivity timeout).
//
// The call service creates a session, puts its ports into SDP, then calls set_remote()/set_codec()
// with the negotiated values and start(). Nothing is sent to the address an SDP names until the
// signalling confirms the peer (allow_sending(): the ACK of our 2xx, or the peer's 2xx to our offer)
// or RTP arrives from the peer (then sending latches onto its source); and while the peer has
// never sent RTP, sending stops `max_send_without_receive` after it was allowed. A forged SDP
// therefore cannot turn the session into a reflection amplifier (issue 11, finding 12). Every decision is taken from
// the injected Clock; an Asio timer only polls it every ptime/2, so a ManualClock drives timeouts, RTCP and playout in
// tests.
//
// Threading: the session runs on its own strand of the given io_context. Every public method may be
// called from any thread (mutators post to the strand); counters() reads atomics. All callbacks
// (frame listeners, DTMF, inactivity, a PromptPlayer's completion) run on the session's strand and
// must not block; a callback may call back into the session. Keep the session in a shared_ptr; it
// lives until stop() and its pending handlers finish. A PortAllocator must outlive its sessions.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/rtp/audio_source.h"
#include "telephony/rtp/dtmf.h"
#include "telephony/rtp/g711.h"
#include "telephony/rtp/jitter_buffer.h"
#include "telephony/rtp/media_tap.h"
#include "telephony/rtp/packet.h"
#include "telephony/rtp/port_allocator.h"
#include "telephony/rtp/rtcp.h"

namespace vontres::telephony::rtp {

struct MediaSessionOptions {
  std::string leg_id;
  Speaker speaker = Speaker::kCaller;
  std::string local_address = "127.0.0.1";
  // nullptr: let the OS pick the ports (RTCP is still rtp+1 when that port is free, else any port:
  // put rtcp_port() into SDP as a=rtcp). Tests use this; production passes the configured range.
  PortAllocator* ports = nullptr;
  G711Law law = G711Law::kMuLaw;
  uint8_t payload_type = 0;
  std::optional<uint8_t> telephone_event_payload_type = 101;
  std::chrono::milliseconds ptime{20};
  std::chrono::milliseconds inactivity_timeout{30'000};  // 0 = never
  // Wait for allow_sending() (or RTP from the peer) before sending anything. Off only in tests
  // that wire two sessions directly.
  bool await_consent = true;
  // With nothing ever received from the peer, stop sending this long after sending was allowed
  // (or the remote address last changed); 0 = no bound.
  std::chrono::milliseconds max_send_without_receive{5'000};
  std::chrono::milliseconds rtcp_interval{5'000};  // randomised by +-50% (RFC 3550 6.2)
  JitterBufferOptions jitter;
  uint32_t seed = 0;  // SSRC and initial sequence/timestamp; 0 = std::random_device
  std::string cname = "vontres";
};

// A played-out ptime (20 ms) frame, given to frame listeners, whatever the peer's packet size.
struct AudioFrame {
  std::span<const int16_t> pcm;      // ptime of 8 kHz samples (zeros for kSilence)
  std::span<const uint8_t> payload;  // the same audio as G.711 in the session's law (encoded silence for kSilence)
  G711Law law = G711Law::kMuLaw;     // of `payload`
  FrameKind kind = FrameKind::kAudio;
  TimePoint time;  // clock time of playout
};

struct MediaCounters {
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;  // RTP payload octets (as in RTCP SR)
  uint64_t packets_received = 0;
  uint64_t bytes_received = 0;  // RTP payload octets
  int64_t packets_lost = 0;     // RFC 3550 cumulative loss of the current source
  double jitter_ms = 0;
  uint64_t frames_played = 0;  // frames given to listeners (audio + concealment)
  uint64_t concealed = 0;
  uint64_t late = 0;
  uint64_t duplicates = 0;
  uint64_t malformed = 0;        // datagrams that are not RTP/RTCP
  uint64_t foreign_dropped = 0;  // RTP from another address after latching
  uint64_t dtmf_events = 0;      // digits received (ends)
  uint64_t rtcp_sent = 0;
  uint64_t rtcp_received = 0;
  uint64_t transcoded = 0;  // relayed frames converted between mu-law and A-law
  // Frames not sent because the peer had not been confirmed yet, or had never answered with RTP
  // within max_send_without_receive.
  uint64_t withheld = 0;
};

class MediaSession : public std::enable_shared_from_this<MediaSession> {
 public:
  using FrameListener = std::function<void(const AudioFrame&)>;
  using DtmfHandler = std::function<void(const DtmfEvent&)>;

  // Binds the sockets. Errors: kErrorPortsExhausted (-> 503), "rtp_bind_failed".
  static Result<std::shared_ptr<MediaSession>> create(boost::asio::io_context& io, Clock& clock,
                                                      MediaSessionOptions options);
  ~MediaSession();
  MediaSession(const MediaSession&) = delete;
  MediaSession& operator=(const MediaSession&) = delete;

  const std::string& leg_id() const { return options_.leg_id; }
  Speaker speaker() const { return options_.speaker; }
  const std::string& local_address() const { return options_.local_address; }
  uint16_t rtp_port() const { return rtp_port_; }
  uint16_t rtcp_port() const { return rtcp_port_; }

  void start();
  // Sends an RTCP BYE, closes the sockets and stops the timer. Idempotent.
  void stop();
  // The peer's address from SDP. The first RTP packet received re-targets sending to its source
  // (symmetric RTP, for callers behind NAT); RTP from any other address is then dropped.
  // A new address restarts the max_send_without_receive bound until RTP comes from the peer.
  void set_remote(std::string address, uint16_t rtp_port, uint16_t rtcp_port);
  // The signalling has confirmed the peer: sending to the remote address may start.
  void allow_sending();
  void set_codec(G711Law law, uint8_t payload_type, std::optional<uint8_t> telephone_event_payload_type);
  // What to send when not bridged; nullptr sends nothing.
  void set_source(std::shared_ptr<AudioSource> source);
  // Hold stops sending (receiving continues); resume restarts with a marker bit.
  void hold();
  void resume();
  void set_inactivity_timeout(std::chrono::milliseconds timeout);
  // Queues a digit as RFC 4733 events (needs a telephone-event payload type); audio pauses meanwhile.
  void send_dtmf(char digit, std::chrono::milliseconds duration = std::chrono::milliseconds(100));

  // Listener ids are never 0. Listeners added from another thread see frames from a later tick.
  uint64_t add_frame_listener(FrameListener listener);
  void remove_frame_listener(uint64_t id);
  void set_dtmf_handler(DtmfHandler handler);
  // Called once when no RTP arrived for inactivity_timeout since start() or the last packet.
  void set_inactivity_handler(std::function<void()> handler);

  // For Bridge: while bridged the source is ignored and relay() sends the peer's frames instead.
  void set_bridged(bool bridged);
  void relay(std::vector<uint8_t> payload, G711Law law);

  MediaCounters counters() const;

 private:
  struct Key {};

 public:
  MediaSession(Key key, boost::asio::io_context& io, Clock& clock, MediaSessionOptions options);

 private:
  using udp = boost::asio::ip::udp;
  Status bind_sockets();
  void tick();
  void schedule_tick();
  void receive_rtp();
  void receive_rtcp();
  void on_rtp(std::span<const uint8_t> datagram, const udp::endpoint& source);
  void on_rtcp(std::span<const uint8_t> datagram, const udp::endpoint& source);
  void play_out(TimePoint now);
  void deliver(const JitterFrame& frame, TimePoint now);
  void adapt_to_packet_duration(size_t payload_bytes);
  void send_due(TimePoint now);
  void send_payload(std::span<const uint8_t> payload, uint8_t payload_type, bool marker, uint32_t timestamp);
  void send_rtcp(TimePoint now, bool bye);
  void schedule_rtcp(TimePoint now);
  void release_ports();
  // Whether media may go to remote_rtp_ now (consent and the unanswered-media bound).
  bool may_send(TimePoint now);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  Clock& clock_;
  MediaSessionOptions options_;
  udp::socket rtp_socket_;
  udp::socket rtcp_socket_;
  boost::asio::steady_timer timer_;
  uint16_t rtp_port_ = 0;
  uint16_t rtcp_port_ = 0;
  bool port_from_allocator_ = false;
  std::mt19937 random_;

  // Strand-only state.
  bool started_ = false;
  bool stopped_ = false;
  std::optional<udp::endpoint> remote_rtp_;
  std::optional<udp::endpoint> remote_rtcp_;
  bool latched_ = false;
  bool consented_ = false;
  bool heard_from_remote_ = false;  // RTP from the current remote since it was set
  bool budget_spent_logged_ = false;
  TimePoint send_allowed_at_{};
  bool rtcp_latched_ = false;
  std::array<uint8_t, kMaxDatagramBytes> rtp_buffer_{};
  std::array<uint8_t, kMaxDatagramBytes> rtcp_buffer_{};
  udp::endpoint rtp_sender_;
  udp::endpoint rtcp_sender_;
  JitterBuffer jitter_;
  std::chrono::milliseconds jitter_frame_duration_;  // the peer's packet duration
  ReceptionStats reception_;
  std::optional<uint32_t> remote_ssrc_;
  DtmfReceiver dtmf_receiver_;
  std::shared_ptr<AudioSource> source_;
  bool bridged_ = false;
  std::deque<std::vector<uint8_t>> relay_queue_;  // frames from the bridge peer, sent one per slot
  bool on_hold_ = false;
  std::vector<std::pair<uint64_t, FrameListener>> listeners_;
  DtmfHandler dtmf_handler_;
  std::function<void()> inactivity_handler_;
  bool inactivity_fired_ = false;
  TimePoint last_received_{};
  TimePoint next_send_{};
  TimePoint next_rtcp_{};
  uint32_t ssrc_ = 0;
  uint16_t sequence_ = 0;
  uint32_t timestamp_ = 0;
  bool marker_next_ = true;
  struct PendingDtmf {
    std::vector<DtmfPacket> packets;
    size_t next = 0;
    uint32_t timestamp = 0;
  };
  std::vector<PendingDtmf> dtmf_queue_;
  std::vector<uint8_t> send_buffer_;
  std::vector<int16_t> pcm_;
  std::vector<uint8_t> encoded_;
  // Played-out audio re-cut into ptime frames (G.711 is one byte per sample, so a peer sending
  // 30 ms packets still yields 20 ms frames): decoded PCM and the payload in the session's law.
  std::deque<int16_t> pcm_fifo_;
  std::deque<uint8_t> payload_fifo_;
  std::vector<int16_t> frame_pcm_;
  std::vector<uint8_t> frame_payload_;
  uint32_t last_sr_middle_ = 0;
  std::optional<TimePoint> last_sr_arrival_;
  uint64_t payload_octets_sent_ = 0;
  uint64_t packets_sent_since_report_ = 0;

  // Counters, readable from any thread.
  struct AtomicCounters {
    std::atomic<uint64_t> packets_sent{0};
    std::atomic<uint64_t> bytes_sent{0};
    std::atomic<uint64_t> packets_received{0};
    std::atomic<uint64_t> bytes_received{0};
    std::atomic<int64_t> packets_lost{0};
    std::atomic<double> jitter_ms{0};
    std::atomic<uint64_t> frames_played{0};
    std::atomic<uint64_t> concealed{0};
    std::atomic<uint64_t> late{0};
    std::atomic<uint64_t> duplicates{0};
    std::atomic<uint64_t> malformed{0};
    std::atomic<uint64_t> foreign_dropped{0};
    std::atomic<uint64_t> dtmf_events{0};
    std::atomic<uint64_t> rtcp_sent{0};
    std::atomic<uint64_t> rtcp_received{0};
    std::atomic<uint64_t> transcoded{0};
    std::atomic<uint64_t> withheld{0};
  };
  AtomicCounters counters_;
};

}  // namespace vontres::telephony::rtp
