#include "telephony/rtp/media_session.h"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/log.h"

namespace vontres::telephony::rtp {
namespace {

constexpr int kMaxCatchUpFrames = 3;
constexpr size_t kMaxRelayQueue = 3;

const log::Logger& logger() {
  static const log::Logger instance("rtp");
  return instance;
}

uint32_t samples_in(std::chrono::milliseconds duration) { return static_cast<uint32_t>(duration.count() * 8); }

}  // namespace

Result<std::shared_ptr<MediaSession>> MediaSession::create(boost::asio::io_context& io, Clock& clock,
                                                           MediaSessionOptions options) {
  if (options.ptime.count() <= 0 || options.ptime.count() > 200) {
    return invalid_argument("ptime must be 1-200 ms", "rtp_bad_options");
  }
  auto session = std::make_shared<MediaSession>(Key{}, io, clock, std::move(options));
  VONTRES_RETURN_IF_ERROR(session->bind_sockets());
  return session;
}

MediaSession::MediaSession(Key /*key*/, boost::asio::io_context& io, Clock& clock, MediaSessionOptions options)
    : strand_(boost::asio::make_strand(io)),
      clock_(clock),
      options_(std::move(options)),
      rtp_socket_(strand_),
      rtcp_socket_(strand_),
      timer_(strand_),
      random_(options_.seed != 0 ? options_.seed : std::random_device{}()),
      jitter_([this] {
        JitterBufferOptions jitter = options_.jitter;
        jitter.frame_duration = options_.ptime;
        return jitter;
      }()),
      jitter_frame_duration_(options_.ptime) {
  ssrc_ = static_cast<uint32_t>(random_());
  sequence_ = static_cast<uint16_t>(random_());
  timestamp_ = static_cast<uint32_t>(random_());
  pcm_.resize(samples_in(options_.ptime));
}

MediaSession::~MediaSession() { release_ports(); }

void MediaSession::release_ports() {
  if (port_from_allocator_ && options_.ports != nullptr) options_.ports->release(rtp_port_);
  port_from_allocator_ = false;
}

Status MediaSession::bind_sockets() {
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(options_.local_address, error);
  if (error) return invalid_argument("bad local media address '" + options_.local_address + "'", "rtp_bind_failed");
  auto open_and_bind = [&](udp::socket& socket, uint16_t port) {
    boost::system::error_code ignored;
    socket.close(ignored);
    boost::system::error_code bind_error;
    socket.open(address.is_v6() ? udp::v6() : udp::v4(), bind_error);
    if (!bind_error) socket.bind(udp::endpoint(address, port), bind_error);
    if (bind_error) socket.close(ignored);
    return !bind_error;
  };
  if (options_.ports != nullptr) {
    for (int attempt = 0; attempt < 16; ++attempt) {
      VONTRES_ASSIGN_OR_RETURN(uint16_t port, options_.ports->allocate());
      if (open_and_bind(rtp_socket_, port) && open_and_bind(rtcp_socket_, static_cast<uint16_t>(port + 1))) {
        rtp_port_ = port;
        rtcp_port_ = static_cast<uint16_t>(port + 1);
        port_from_allocator_ = true;
        return Status::ok();
      }
      options_.ports->release(port);  // taken by another process; it goes to the back of the queue
    }
    return unavailable("no free RTP port pair could be bound", "rtp_bind_failed");
  }
  for (int attempt = 0; attempt < 32; ++attempt) {
    if (!open_and_bind(rtp_socket_, 0)) break;
    uint16_t port = rtp_socket_.local_endpoint().port();
    if (port % 2 == 0 && port < 0xffff && open_and_bind(rtcp_socket_, static_cast<uint16_t>(port + 1))) {
      rtp_port_ = port;
      rtcp_port_ = static_cast<uint16_t>(port + 1);
      return Status::ok();
    }
  }
  if (open_and_bind(rtp_socket_, 0) && open_and_bind(rtcp_socket_, 0)) {
    rtp_port_ = rtp_socket_.local_endpoint().port();
    rtcp_port_ = rtcp_socket_.local_endpoint().port();
    return Status::ok();
  }
  return unavailable("cannot bind UDP sockets on " + options_.local_address, "rtp_bind_failed");
}

void MediaSession::start() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    if (self->started_ || self->stopped_) return;
    self->started_ = true;
    TimePoint now = self->clock_.now();
    self->last_received_ = now;
    self->next_send_ = now;
    if (!self->options_.await_consent) {
      self->consented_ = true;
      self->send_allowed_at_ = now;
    }
    self->schedule_rtcp(now);
    self->receive_rtp();
    self->receive_rtcp();
    self->schedule_tick();
  });
}

void MediaSession::stop() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    if (self->stopped_) return;
    if (self->started_) self->send_rtcp(self->clock_.now(), true);
    self->stopped_ = true;
    self->timer_.cancel();
    boost::system::error_code ignored;
    self->rtp_socket_.close(ignored);
    self->rtcp_socket_.close(ignored);
    self->source_.reset();
    self->listeners_.clear();
    self->dtmf_handler_ = nullptr;
    self->inactivity_handler_ = nullptr;
  });
}

void MediaSession::set_remote(std::string address, uint16_t rtp_port, uint16_t rtcp_port) {
  boost::asio::post(strand_, [self = shared_from_this(), address = std::move(address), rtp_port, rtcp_port] {
    boost::system::error_code error;
    auto ip = boost::asio::ip::make_address(address, error);
    self->latched_ = false;
    self->rtcp_latched_ = false;
    if (error || ip.is_unspecified() || rtp_port == 0) {
      // Old-style hold (0.0.0.0), a name the call service did not resolve, or a rejected stream:
      // send nothing until a packet arrives to latch onto.
      if (error) logger().warn("unusable remote media address", {{"rtp.leg_id", self->options_.leg_id}});
      self->remote_rtp_.reset();
      self->remote_rtcp_.reset();
      return;
    }
    const udp::endpoint next(ip, rtp_port);
    if (!self->remote_rtp_ || *self->remote_rtp_ != next) {
      // A new address has to show it wants the media again (a re-INVITE could name a victim).
      self->heard_from_remote_ = false;
      self->budget_spent_logged_ = false;
      self->send_allowed_at_ = self->clock_.now();
    }
    self->remote_rtp_ = next;
    self->remote_rtcp_ = udp::endpoint(ip, rtcp_port != 0 ? rtcp_port : static_cast<uint16_t>(rtp_port + 1));
  });
}

void MediaSession::allow_sending() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    if (self->consented_) return;
    self->consented_ = true;
    self->send_allowed_at_ = self->clock_.now();
  });
}

bool MediaSession::may_send(TimePoint now) {
  if (heard_from_remote_) return true;
  if (options_.await_consent && !consented_) return false;
  if (options_.max_send_without_receive.count() > 0 && now - send_allowed_at_ >= options_.max_send_without_receive) {
    if (!budget_spent_logged_) {
      budget_spent_logged_ = true;
      logger().info("no RTP from the peer: media sending stopped",
                    {{"rtp.leg_id", options_.leg_id},
                     {"vontres.rtp.send_without_receive_ms", options_.max_send_without_receive.count()}});
    }
    return false;
  }
  return true;
}

void MediaSession::set_codec(G711Law law, uint8_t payload_type, std::optional<uint8_t> telephone_event_payload_type) {
  boost::asio::post(strand_, [self = shared_from_this(), law, payload_type, telephone_event_payload_type] {
    self->options_.law = law;
    self->options_.payload_type = payload_type;
    self->options_.telephone_event_payload_type = telephone_event_payload_type;
  });
}

void MediaSession::set_source(std::shared_ptr<AudioSource> source) {
  boost::asio::post(strand_, [self = shared_from_this(), source = std::move(source)]() mutable {
    self->source_ = std::move(source);
    self->marker_next_ = true;
  });
}

void MediaSession::hold() {
  boost::asio::post(strand_, [self = shared_from_this()] { self->on_hold_ = true; });
}

void MediaSession::resume() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    self->on_hold_ = false;
    self->marker_next_ = true;
  });
}

void MediaSession::set_inactivity_timeout(std::chrono::milliseconds timeout) {
  boost::asio::post(strand_, [self = shared_from_this(), timeout] {
    self->options_.inactivity_timeout = timeout;
    self->last_received_ = self->clock_.now();
    self->inactivity_fired_ = false;
  });
}

void MediaSession::send_dtmf(char digit, std::chrono::milliseconds duration) {
  boost::asio::post(strand_, [self = shared_from_this(), digit, duration] {
    if (!self->options_.telephone_event_payload_type) return;
    auto packets = dtmf_packets(digit, duration, self->options_.ptime);
    if (!packets.empty()) self->dtmf_queue_.push_back(PendingDtmf{std::move(packets), 0, 0});
  });
}

uint64_t MediaSession::add_frame_listener(FrameListener listener) {
  static std::atomic<uint64_t> next_id{1};
  uint64_t id = next_id.fetch_add(1);
  boost::asio::post(strand_, [self = shared_from_this(), id, listener = std::move(listener)]() mutable {
    if (!self->stopped_) self->listeners_.emplace_back(id, std::move(listener));
  });
  return id;
}

void MediaSession::remove_frame_listener(uint64_t id) {
  boost::asio::post(strand_, [self = shared_from_this(), id] {
    std::erase_if(self->listeners_, [id](const auto& entry) { return entry.first == id; });
  });
}

void MediaSession::set_dtmf_handler(DtmfHandler handler) {
  boost::asio::post(strand_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    self->dtmf_handler_ = std::move(handler);
  });
}

void MediaSession::set_inactivity_handler(std::function<void()> handler) {
  boost::asio::post(strand_, [self = shared_from_this(), handler = std::move(handler)]() mutable {
    self->inactivity_handler_ = std::move(handler);
  });
}

void MediaSession::set_bridged(bool bridged) {
  boost::asio::post(strand_, [self = shared_from_this(), bridged] {
    self->bridged_ = bridged;
    self->relay_queue_.clear();
    self->marker_next_ = true;
  });
}

void MediaSession::relay(std::vector<uint8_t> payload, G711Law law) {
  boost::asio::post(strand_, [self = shared_from_this(), payload = std::move(payload), law]() mutable {
    if (!self->bridged_ || self->stopped_) return;
    if (law != self->options_.law) {
      std::vector<uint8_t> transcoded(payload.size());
      g711_transcode(law, self->options_.law, payload, transcoded);
      payload = std::move(transcoded);
      self->counters_.transcoded.fetch_add(1, std::memory_order_relaxed);
    }
    self->relay_queue_.push_back(std::move(payload));
    if (self->relay_queue_.size() > kMaxRelayQueue) self->relay_queue_.pop_front();
  });
}

MediaCounters MediaSession::counters() const {
  MediaCounters out;
  const auto& c = counters_;
  out.packets_sent = c.packets_sent.load();
  out.bytes_sent = c.bytes_sent.load();
  out.packets_received = c.packets_received.load();
  out.bytes_received = c.bytes_received.load();
  out.packets_lost = c.packets_lost.load();
  out.jitter_ms = c.jitter_ms.load();
  out.frames_played = c.frames_played.load();
  out.concealed = c.concealed.load();
  out.late = c.late.load();
  out.duplicates = c.duplicates.load();
  out.malformed = c.malformed.load();
  out.foreign_dropped = c.foreign_dropped.load();
  out.dtmf_events = c.dtmf_events.load();
  out.rtcp_sent = c.rtcp_sent.load();
  out.rtcp_received = c.rtcp_received.load();
  out.transcoded = c.transcoded.load();
  out.withheld = c.withheld.load();
  return out;
}

void MediaSession::schedule_tick() {
  timer_.expires_after(options_.ptime / 2);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->stopped_) return;
    self->tick();
    if (!self->stopped_) self->schedule_tick();
  });
}

void MediaSession::tick() {
  TimePoint now = clock_.now();
  play_out(now);
  send_due(now);
  if (now >= next_rtcp_) {
    send_rtcp(now, false);
    schedule_rtcp(now);
  }
  const auto& stats = jitter_.stats();
  counters_.jitter_ms.store(stats.jitter_ms, std::memory_order_relaxed);
  counters_.late.store(stats.late, std::memory_order_relaxed);
  counters_.duplicates.store(stats.duplicates, std::memory_order_relaxed);
  counters_.packets_lost.store(reception_.cumulative_lost(), std::memory_order_relaxed);
  if (options_.inactivity_timeout.count() > 0 && !inactivity_fired_ &&
      now - last_received_ >= options_.inactivity_timeout) {
    inactivity_fired_ = true;
    logger().info("no RTP received: inactivity timeout", {{"rtp.leg_id", options_.leg_id}});
    if (inactivity_handler_) inactivity_handler_();
  }
}

void MediaSession::receive_rtp() {
  rtp_socket_.async_receive_from(boost::asio::buffer(rtp_buffer_), rtp_sender_,
                                 [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
                                   if (self->stopped_ || error == boost::asio::error::operation_aborted) return;
                                   if (!error) {
                                     self->on_rtp(std::span<const uint8_t>(self->rtp_buffer_.data(), bytes),
                                                  self->rtp_sender_);
                                   }
                                   self->receive_rtp();
                                 });
}

void MediaSession::receive_rtcp() {
  rtcp_socket_.async_receive_from(boost::asio::buffer(rtcp_buffer_), rtcp_sender_,
                                  [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
                                    if (self->stopped_ || error == boost::asio::error::operation_aborted) return;
                                    if (!error) {
                                      self->on_rtcp(std::span<const uint8_t>(self->rtcp_buffer_.data(), bytes),
                                                    self->rtcp_sender_);
                                    }
                                    self->receive_rtcp();
                                  });
}

void MediaSession::on_rtp(std::span<const uint8_t> datagram, const udp::endpoint& source) {
  if (looks_like_rtcp(datagram)) {  // RFC 5761 multiplexing
    on_rtcp(datagram, source);
    return;
  }
  auto packet = parse_rtp(datagram);
  if (!packet.is_ok()) {
    counters_.malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (latched_) {
    if (source != *remote_rtp_) {
      counters_.foreign_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  } else {
    // Symmetric RTP: answer where the media really comes from (the caller may be behind NAT).
    latched_ = true;
    remote_rtp_ = source;
    heard_from_remote_ = true;
    if (!rtcp_latched_) {
      uint16_t rtcp_port = remote_rtcp_ ? remote_rtcp_->port() : static_cast<uint16_t>(source.port() + 1);
      remote_rtcp_ = udp::endpoint(source.address(), rtcp_port);
    }
  }
  TimePoint now = clock_.now();
  last_received_ = now;
  counters_.packets_received.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes_received.fetch_add(packet->payload.size(), std::memory_order_relaxed);
  if (remote_ssrc_ && *remote_ssrc_ != packet->ssrc) {
    jitter_.reset();
    pcm_fifo_.clear();
    payload_fifo_.clear();
    reception_ = ReceptionStats();
  }
  remote_ssrc_ = packet->ssrc;
  auto arrival_units = static_cast<uint32_t>(clock_.now_unix_ms() * 8);
  reception_.on_packet(packet->sequence, packet->timestamp, arrival_units);
  if (options_.telephone_event_payload_type && packet->payload_type == *options_.telephone_event_payload_type) {
    for (const auto& event : dtmf_receiver_.on_packet(packet->timestamp, packet->payload)) {
      if (event.phase == DtmfEvent::Phase::kEnd) counters_.dtmf_events.fetch_add(1, std::memory_order_relaxed);
      if (dtmf_handler_) dtmf_handler_(event);
    }
    return;
  }
  if (packet->payload_type == options_.payload_type || packet->payload_type == 0 || packet->payload_type == 8) {
    adapt_to_packet_duration(packet->payload.size());
    jitter_.push(packet->sequence, packet->timestamp, packet->payload_type, packet->payload, now);
  }
}

void MediaSession::on_rtcp(std::span<const uint8_t> datagram, const udp::endpoint& source) {
  auto compound = parse_rtcp(datagram);
  if (!compound.is_ok()) {
    counters_.malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  counters_.rtcp_received.fetch_add(1, std::memory_order_relaxed);
  if (!rtcp_latched_ && source.port() != rtp_sender_.port()) {
    rtcp_latched_ = true;
    remote_rtcp_ = source;
  }
  if (!compound->sender_reports.empty()) {
    last_sr_middle_ = static_cast<uint32_t>(compound->sender_reports.back().ntp_timestamp >> 16);
    last_sr_arrival_ = clock_.now();
  }
}

void MediaSession::play_out(TimePoint now) {
  while (auto frame = jitter_.pop(now)) deliver(*frame, now);
}

void MediaSession::adapt_to_packet_duration(size_t payload_bytes) {
  // The jitter buffer plays one packet per frame_duration: follow the peer's packetisation
  // (10 ms steps up to 200 ms), which a=ptime may not state.
  if (payload_bytes == 0 || payload_bytes % 80 != 0 || payload_bytes > 1600) return;
  std::chrono::milliseconds duration(payload_bytes / 8);
  if (duration == jitter_frame_duration_) return;
  JitterBufferOptions jitter = options_.jitter;
  jitter.frame_duration = duration;
  jitter_ = JitterBuffer(jitter);
  jitter_frame_duration_ = duration;
}

void MediaSession::deliver(const JitterFrame& frame, TimePoint now) {
  std::optional<G711Law> law;
  if (frame.kind != FrameKind::kSilence) {
    if (frame.payload_type == options_.payload_type) {
      law = options_.law;
    } else if (frame.payload_type == 0) {
      law = G711Law::kMuLaw;
    } else if (frame.payload_type == 8) {
      law = G711Law::kALaw;
    }
  }
  FrameKind kind = law ? frame.kind : FrameKind::kSilence;
  if (law) {
    pcm_.resize(frame.payload.size());
    g711_decode(*law, frame.payload, pcm_);
    if (kind == FrameKind::kRepeat) {
      for (auto& sample : pcm_) sample = static_cast<int16_t>(sample / 2);
      encoded_.resize(pcm_.size());
      g711_encode(options_.law, pcm_, encoded_);
    } else if (*law != options_.law) {
      encoded_.resize(frame.payload.size());
      g711_transcode(*law, options_.law, frame.payload, encoded_);
    } else {
      encoded_.assign(frame.payload.begin(), frame.payload.end());
    }
  } else {
    size_t samples = static_cast<size_t>(jitter_frame_duration_.count()) * 8;
    pcm_.assign(samples, 0);
    encoded_.assign(samples, g711_silence(options_.law));
  }
  pcm_fifo_.insert(pcm_fifo_.end(), pcm_.begin(), pcm_.end());
  payload_fifo_.insert(payload_fifo_.end(), encoded_.begin(), encoded_.end());
  size_t frame_samples = samples_in(options_.ptime);
  while (pcm_fifo_.size() >= frame_samples) {
    frame_pcm_.assign(pcm_fifo_.begin(), pcm_fifo_.begin() + static_cast<std::ptrdiff_t>(frame_samples));
    frame_payload_.assign(payload_fifo_.begin(), payload_fifo_.begin() + static_cast<std::ptrdiff_t>(frame_samples));
    pcm_fifo_.erase(pcm_fifo_.begin(), pcm_fifo_.begin() + static_cast<std::ptrdiff_t>(frame_samples));
    payload_fifo_.erase(payload_fifo_.begin(), payload_fifo_.begin() + static_cast<std::ptrdiff_t>(frame_samples));
    counters_.frames_played.fetch_add(1, std::memory_order_relaxed);
    if (kind != FrameKind::kAudio) counters_.concealed.fetch_add(1, std::memory_order_relaxed);
    AudioFrame audio;
    audio.pcm = frame_pcm_;
    audio.payload = frame_payload_;
    audio.law = options_.law;
    audio.kind = kind;
    audio.time = now;
    for (const auto& [id, listener] : listeners_) listener(audio);
  }
}

void MediaSession::send_due(TimePoint now) {
  int frames = 0;
  uint32_t samples_per_frame = samples_in(options_.ptime);
  while (next_send_ <= now) {
    if (frames == kMaxCatchUpFrames) {
      // Far behind (a stalled thread, or a manual clock jumping): skip ahead, keeping the RTP
      // timestamp in step with time.
      auto behind = (now - next_send_) / options_.ptime + 1;
      timestamp_ += static_cast<uint32_t>(behind) * samples_per_frame;
      next_send_ += options_.ptime * behind;
      marker_next_ = true;
      break;
    }
    bool can_send = started_ && !stopped_ && remote_rtp_ && !on_hold_;
    if (can_send && !may_send(now)) {
      can_send = false;
      counters_.withheld.fetch_add(1, std::memory_order_relaxed);
    }
    if (can_send && !dtmf_queue_.empty()) {
      PendingDtmf& dtmf = dtmf_queue_.front();
      if (dtmf.next == 0) dtmf.timestamp = timestamp_;
      const DtmfPacket& packet = dtmf.packets[dtmf.next++];
      send_payload(packet.payload, *options_.telephone_event_payload_type, packet.marker, dtmf.timestamp);
      if (dtmf.next == dtmf.packets.size()) dtmf_queue_.erase(dtmf_queue_.begin());
      marker_next_ = true;
    } else if (can_send && bridged_) {
      if (!relay_queue_.empty()) {
        send_payload(relay_queue_.front(), options_.payload_type, marker_next_, timestamp_);
        relay_queue_.pop_front();
        marker_next_ = false;
      } else {
        marker_next_ = true;
      }
    } else if (can_send && source_) {
      pcm_.resize(samples_per_frame);
      if (source_->read_frame(pcm_)) {
        encoded_.resize(pcm_.size());
        g711_encode(options_.law, pcm_, encoded_);
        send_payload(encoded_, options_.payload_type, marker_next_, timestamp_);
        marker_next_ = false;
      } else {
        marker_next_ = true;
      }
    } else {
      marker_next_ = true;
    }
    timestamp_ += samples_per_frame;
    next_send_ += options_.ptime;
    ++frames;
  }
}

void MediaSession::send_payload(std::span<const uint8_t> payload, uint8_t payload_type, bool marker,
                                uint32_t timestamp) {
  write_rtp(marker, payload_type, sequence_++, timestamp, ssrc_, payload, send_buffer_);
  boost::system::error_code error;
  rtp_socket_.send_to(boost::asio::buffer(send_buffer_), *remote_rtp_, 0, error);
  if (error) return;  // UDP: a full socket buffer or an ICMP error is a lost packet
  counters_.packets_sent.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes_sent.fetch_add(payload.size(), std::memory_order_relaxed);
  payload_octets_sent_ += payload.size();
  ++packets_sent_since_report_;
}

void MediaSession::schedule_rtcp(TimePoint now) {
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  auto interval = std::chrono::duration_cast<Duration>(options_.rtcp_interval * factor(random_));
  next_rtcp_ = now + interval;
}

void MediaSession::send_rtcp(TimePoint now, bool bye) {
  if (!remote_rtcp_ || !may_send(now)) return;
  std::vector<ReportBlock> blocks;
  if (reception_.started() && remote_ssrc_) {
    uint32_t delay = 0;
    if (last_sr_arrival_) {
      auto since = std::chrono::duration<double>(now - *last_sr_arrival_).count();
      delay = static_cast<uint32_t>(since * 65536.0);
    }
    blocks.push_back(reception_.make_report_block(*remote_ssrc_, last_sr_arrival_ ? last_sr_middle_ : 0, delay));
  }
  std::vector<uint8_t> out;
  if (packets_sent_since_report_ > 0) {
    SenderReport report;
    report.ssrc = ssrc_;
    report.ntp_timestamp = to_ntp(now);
    report.rtp_timestamp = timestamp_;
    report.packet_count = static_cast<uint32_t>(counters_.packets_sent.load());
    report.octet_count = static_cast<uint32_t>(payload_octets_sent_);
    report.reports = std::move(blocks);
    append_sender_report(report, out);
  } else {
    append_receiver_report(ReceiverReport{ssrc_, std::move(blocks)}, out);
  }
  packets_sent_since_report_ = 0;
  append_sdes_cname(ssrc_, options_.cname, out);
  if (bye) append_bye(Bye{{ssrc_}, "call ended"}, out);
  boost::system::error_code error;
  rtcp_socket_.send_to(boost::asio::buffer(out), *remote_rtcp_, 0, error);
  if (!error) counters_.rtcp_sent.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace vontres::telephony::rtp
