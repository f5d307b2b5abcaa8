// Loopback media tests: real UDP on 127.0.0.1 with OS-chosen ports, an io_context on a background
// thread, and waits for conditions with generous deadlines (never timing assertions).
#include "telephony/rtp/media_session.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "telephony/rtp/bridge.h"
#include "telephony/rtp/packet.h"
#include "telephony/rtp/port_allocator.h"

namespace vontres::telephony::rtp {
namespace {

using std::chrono::milliseconds;
using udp = boost::asio::ip::udp;

bool wait_until(const std::function<bool()>& condition, milliseconds timeout = milliseconds(10'000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

std::shared_ptr<const WavAudio> tone(double frequency, int16_t amplitude = 8000) {
  auto audio = std::make_shared<WavAudio>();
  for (int i = 0; i < 8000; ++i) {
    audio->samples.push_back(static_cast<int16_t>(amplitude * std::sin(2 * M_PI * frequency * i / 8000.0)));
  }
  return audio;
}

MediaSessionOptions options_with(Speaker speaker, G711Law law, uint8_t payload_type) {
  MediaSessionOptions options;
  options.speaker = speaker;
  options.law = law;
  options.payload_type = payload_type;
  return options;
}

double rms(std::span<const int16_t> pcm) {
  double sum = 0;
  for (int16_t s : pcm) sum += static_cast<double>(s) * s;
  return pcm.empty() ? 0 : std::sqrt(sum / static_cast<double>(pcm.size()));
}

class MediaSessionTest : public ::testing::Test {
 protected:
  MediaSessionTest() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~MediaSessionTest() override {
    for (auto& session : sessions_) session->stop();
    work_.reset();
    thread_.join();
  }

  std::shared_ptr<MediaSession> make(const std::string& leg, Clock& clock, MediaSessionOptions options = {}) {
    options.leg_id = leg;
    auto session = MediaSession::create(io_, clock, std::move(options));
    EXPECT_TRUE(session.is_ok()) << session.status().to_string();
    sessions_.push_back(*session);
    return *session;
  }

  // Both ends as after the ACK: the signalling has confirmed the peer, so each may send.
  static void connect(const std::shared_ptr<MediaSession>& a, const std::shared_ptr<MediaSession>& b) {
    a->set_remote("127.0.0.1", b->rtp_port(), b->rtcp_port());
    b->set_remote("127.0.0.1", a->rtp_port(), a->rtcp_port());
    a->allow_sending();
    b->allow_sending();
  }

  // Sessions read their clock until the destructor has stopped them, so a test's manual clock must
  // outlive them: it lives here, not in the test body.
  ManualClock manual_clock_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::shared_ptr<MediaSession>> sessions_;
  std::thread thread_;
};

struct FrameLog {
  std::mutex mutex;
  size_t audio_frames = 0;
  double loudest = 0;
  void add(const AudioFrame& frame) {
    std::lock_guard lock(mutex);
    if (frame.kind == FrameKind::kAudio) ++audio_frames;
    loudest = std::max(loudest, rms(frame.pcm));
  }
  size_t frames() {
    std::lock_guard lock(mutex);
    return audio_frames;
  }
};

TEST_F(MediaSessionTest, TwoSessionsExchangeAudioOverRealUdp) {
  SystemClock& clock = SystemClock::instance();
  auto a = make("a", clock);
  auto b = make("b", clock, options_with(Speaker::kAgent, G711Law::kALaw, 8));
  EXPECT_EQ(a->rtp_port() % 2, 0);
  EXPECT_NE(a->rtp_port(), b->rtp_port());
  auto b_frames = std::make_shared<FrameLog>();
  auto a_frames = std::make_shared<FrameLog>();
  b->add_frame_listener([b_frames](const AudioFrame& frame) { b_frames->add(frame); });
  a->add_frame_listener([a_frames](const AudioFrame& frame) { a_frames->add(frame); });
  a->set_codec(G711Law::kALaw, 8, 101);
  a->set_source(std::make_shared<PromptPlayer>(tone(440), PromptPlayer::Mode::kLoop));
  b->set_source(std::make_shared<PromptPlayer>(tone(660), PromptPlayer::Mode::kLoop));
  connect(a, b);
  a->start();
  b->start();
  ASSERT_TRUE(wait_until([&] { return b_frames->frames() >= 50 && a_frames->frames() >= 50; }));
  MediaCounters received = b->counters();
  EXPECT_GE(received.packets_received, 50u);
  EXPECT_EQ(received.bytes_received, received.packets_received * 160);
  EXPECT_EQ(received.malformed, 0u);
  EXPECT_GE(a->counters().packets_sent, 50u);
  std::lock_guard lock(b_frames->mutex);
  EXPECT_NEAR(b_frames->loudest, 8000 / std::sqrt(2.0), 400) << "the 440 Hz tone arrives at its level";
}

TEST_F(MediaSessionTest, DtmfDigitsArriveOnceEach) {
  SystemClock& clock = SystemClock::instance();
  auto a = make("a", clock);
  auto b = make("b", clock);
  std::mutex mutex;
  std::string digits;
  b->set_dtmf_handler([&](const DtmfEvent& event) {
    std::lock_guard lock(mutex);
    if (event.phase == DtmfEvent::Phase::kEnd) digits += event.digit;
  });
  a->set_source(std::make_shared<SilenceSource>());
  connect(a, b);
  a->start();
  b->start();
  a->send_dtmf('1', milliseconds(80));
  a->send_dtmf('#', milliseconds(60));
  a->send_dtmf('1', milliseconds(60));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex);
    return digits.size() >= 3;
  }));
  ASSERT_TRUE(wait_until([&] { return b->counters().packets_received > 30; }));  // trailing audio too
  std::lock_guard lock(mutex);
  EXPECT_EQ(digits, "1#1");
  EXPECT_EQ(b->counters().dtmf_events, 3u);
}

TEST_F(MediaSessionTest, LatchesToTheRealSourceAndDropsOthers) {
  SystemClock& clock = SystemClock::instance();
  auto a = make("a", clock);
  auto b = make("b", clock);
  a->set_source(std::make_shared<SilenceSource>());
  b->set_source(std::make_shared<SilenceSource>());
  // b's SDP says the peer is somewhere else (a NAT'ed address): it must answer where a really is.
  a->set_remote("127.0.0.1", b->rtp_port(), b->rtcp_port());
  b->set_remote("127.0.0.1", 9, 10);
  a->allow_sending();  // b is never allowed: it answers only because a's RTP reached it
  a->start();
  b->start();
  ASSERT_TRUE(wait_until([&] { return a->counters().packets_received >= 10; }));

  boost::asio::io_context io;
  udp::socket stranger(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  std::vector<uint8_t> packet;
  std::vector<uint8_t> payload(160, 0xff);
  write_rtp(false, 0, 1, 160, 99, payload, packet);
  auto target = udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), b->rtp_port());
  for (int i = 0; i < 5; ++i) stranger.send_to(boost::asio::buffer(packet), target);
  std::vector<uint8_t> garbage = {1, 2, 3};
  stranger.send_to(boost::asio::buffer(garbage), target);
  ASSERT_TRUE(wait_until([&] { return b->counters().foreign_dropped >= 5 && b->counters().malformed >= 1; }));
}

TEST_F(MediaSessionTest, HoldStopsSendingAndResumeRestartsIt) {
  SystemClock& clock = SystemClock::instance();
  auto a = make("a", clock);
  auto b = make("b", clock);
  a->set_source(std::make_shared<SilenceSource>());
  b->set_source(std::make_shared<SilenceSource>());
  a->hold();
  connect(a, b);
  a->start();
  b->start();
  ASSERT_TRUE(wait_until([&] { return a->counters().packets_received >= 25; }));
  EXPECT_EQ(a->counters().packets_sent, 0u) << "on hold from the start";
  a->resume();
  ASSERT_TRUE(wait_until([&] { return b->counters().packets_received >= 5; }));
}

TEST_F(MediaSessionTest, ExchangesRtcpReports) {
  SystemClock& clock = SystemClock::instance();
  MediaSessionOptions options;
  options.rtcp_interval = milliseconds(100);
  auto a = make("a", clock, options);
  auto b = make("b", clock, options);
  a->set_source(std::make_shared<SilenceSource>());
  connect(a, b);
  a->start();
  b->start();
  ASSERT_TRUE(wait_until([&] { return a->counters().rtcp_received >= 2 && b->counters().rtcp_received >= 2; }));
  EXPECT_EQ(a->counters().malformed + b->counters().malformed, 0u);
}

TEST_F(MediaSessionTest, InactivityTimeoutFiresFromTheClockAfterTheLastPacket) {
  ManualClock& clock = manual_clock_;
  TimePoint started = clock.now();
  MediaSessionOptions options;
  options.inactivity_timeout = milliseconds(2000);
  auto session = make("quiet", clock, options);
  std::atomic<int64_t> fired_at_ms{0};
  std::atomic<int> fired{0};
  session->set_inactivity_handler([&] {
    fired_at_ms = std::chrono::duration_cast<milliseconds>(clock.now() - started).count();
    ++fired;
  });
  session->start();
  clock.advance(milliseconds(1500));
  // A packet at +1.5 s postpones the deadline to +3.5 s.
  boost::asio::io_context io;
  udp::socket peer(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  std::vector<uint8_t> packet;
  std::vector<uint8_t> payload(160, 0xff);
  write_rtp(true, 0, 1, 0, 7, payload, packet);
  peer.send_to(boost::asio::buffer(packet),
               udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), session->rtp_port()));
  ASSERT_TRUE(wait_until([&] { return session->counters().packets_received == 1; }));
  clock.advance(milliseconds(1500));  // +3.0 s
  clock.advance(milliseconds(1000));  // +4.0 s
  ASSERT_TRUE(wait_until([&] { return fired.load() > 0; }));
  EXPECT_GE(fired_at_ms.load(), 3500) << "measured from the last packet, not from start";
  clock.advance(milliseconds(10'000));
  ASSERT_TRUE(wait_until([&] { return session->counters().rtcp_sent + 1 > 0; }));
  EXPECT_EQ(fired.load(), 1) << "fires once";
}

TEST_F(MediaSessionTest, ThirtyMillisecondPacketsAreReCutIntoTwentyMillisecondFrames) {
  ManualClock& clock = manual_clock_;
  auto session = make("ptime30", clock);
  std::mutex mutex;
  std::vector<uint8_t> heard;
  std::vector<size_t> sizes;
  session->add_frame_listener([&](const AudioFrame& frame) {
    std::lock_guard lock(mutex);
    if (frame.kind != FrameKind::kAudio) return;
    heard.insert(heard.end(), frame.payload.begin(), frame.payload.end());
    sizes.push_back(frame.pcm.size());
  });
  session->start();
  boost::asio::io_context io;
  udp::socket peer(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  auto target = udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), session->rtp_port());
  std::vector<uint8_t> sent;
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> payload(240);
    for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<uint8_t>(0x80 + (i * 240 + j) % 100);
    sent.insert(sent.end(), payload.begin(), payload.end());
    std::vector<uint8_t> packet;
    write_rtp(i == 0, 0, static_cast<uint16_t>(500 + i), static_cast<uint32_t>(i * 240), 77, payload, packet);
    peer.send_to(boost::asio::buffer(packet), target);
  }
  ASSERT_TRUE(wait_until([&] { return session->counters().packets_received == 20; }));
  clock.advance(milliseconds(2000));  // 20 x 30 ms plus the playout delay
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex);
    return heard.size() >= sent.size();
  }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(heard, sent) << "every byte once, in order";
  EXPECT_EQ(sizes.size(), 30u);
  for (size_t size : sizes) EXPECT_EQ(size, 160u);
}

class RecordingTap : public MediaTap {
 public:
  void on_audio(std::string_view leg_id, Speaker speaker, std::span<const int16_t> pcm, TimePoint) override {
    std::lock_guard lock(mutex_);
    auto& side = speaker == Speaker::kCaller ? caller_ : agent_;
    ++side.frames;
    side.loudest = std::max(side.loudest, rms(pcm));
    side.leg = std::string(leg_id);
  }
  struct Side {
    size_t frames = 0;
    double loudest = 0;
    std::string leg;
  };
  Side caller() {
    std::lock_guard lock(mutex_);
    return caller_;
  }
  Side agent() {
    std::lock_guard lock(mutex_);
    return agent_;
  }

 private:
  std::mutex mutex_;
  Side caller_;
  Side agent_;
};

TEST_F(MediaSessionTest, BridgeRelaysBothWaysTranscodingAndTapsBothSides) {
  SystemClock& clock = SystemClock::instance();
  // The caller's phone (PCMU) <-> Vontres caller leg | bridge | Vontres agent leg <-> agent phone (PCMA).
  auto caller_phone = make("caller-phone", clock);
  auto caller_leg = make("leg-caller", clock, options_with(Speaker::kCaller, G711Law::kMuLaw, 0));
  MediaSessionOptions alaw = options_with(Speaker::kAgent, G711Law::kALaw, 8);
  auto agent_leg = make("leg-agent", clock, alaw);
  auto agent_phone = make("agent-phone", clock, alaw);
  connect(caller_phone, caller_leg);
  connect(agent_leg, agent_phone);
  caller_phone->set_source(std::make_shared<PromptPlayer>(tone(440, 6000), PromptPlayer::Mode::kLoop));
  agent_phone->set_source(std::make_shared<PromptPlayer>(tone(880, 3000), PromptPlayer::Mode::kLoop));
  auto at_agent = std::make_shared<FrameLog>();
  auto at_caller = std::make_shared<FrameLog>();
  agent_phone->add_frame_listener([at_agent](const AudioFrame& f) { at_agent->add(f); });
  caller_phone->add_frame_listener([at_caller](const AudioFrame& f) { at_caller->add(f); });
  auto tap = std::make_shared<RecordingTap>();
  auto bridge = Bridge::connect(caller_leg, agent_leg, {tap});
  for (auto& session : sessions_) session->start();

  ASSERT_TRUE(wait_until([&] {
    auto counters = bridge->counters();
    return counters.a_to_b >= 50 && counters.b_to_a >= 50 && at_agent->frames() >= 30 && at_caller->frames() >= 30;
  }));
  EXPECT_GT(agent_leg->counters().transcoded, 0u) << "PCMU frames became PCMA";
  EXPECT_GT(caller_leg->counters().transcoded, 0u);
  EXPECT_GE(agent_leg->counters().packets_sent, 30u);
  {
    std::lock_guard lock(at_agent->mutex);
    EXPECT_NEAR(at_agent->loudest, 6000 / std::sqrt(2.0), 400) << "the caller's tone reaches the agent";
  }
  {
    std::lock_guard lock(at_caller->mutex);
    EXPECT_NEAR(at_caller->loudest, 3000 / std::sqrt(2.0), 300) << "the agent's tone reaches the caller";
  }
  auto caller_side = tap->caller();
  auto agent_side = tap->agent();
  EXPECT_GE(caller_side.frames, 50u);
  EXPECT_GE(agent_side.frames, 50u);
  EXPECT_EQ(caller_side.leg, "leg-caller");
  EXPECT_EQ(agent_side.leg, "leg-agent");
  EXPECT_NEAR(caller_side.loudest, 6000 / std::sqrt(2.0), 400);
  EXPECT_NEAR(agent_side.loudest, 3000 / std::sqrt(2.0), 300);

  bridge->disconnect();
  uint64_t relayed = bridge->counters().a_to_b;
  ASSERT_TRUE(wait_until([&] { return caller_leg->counters().packets_received > caller_side.frames + 60; }));
  EXPECT_LE(bridge->counters().a_to_b, relayed + 1) << "nothing relayed after disconnect";
}

TEST(PortAllocatorTest, HandsOutEvenPortsUntilExhaustedAndReusesReleasedOnes) {
  PortAllocator ports(30001, 30009);  // pairs 30002/3, 30004/5, 30006/7, 30008/9
  EXPECT_EQ(ports.capacity(), 4u);
  std::vector<uint16_t> taken;
  for (int i = 0; i < 4; ++i) {
    auto port = ports.allocate();
    ASSERT_TRUE(port.is_ok());
    EXPECT_EQ(*port % 2, 0);
    taken.push_back(*port);
  }
  EXPECT_EQ(taken, (std::vector<uint16_t>{30002, 30004, 30006, 30008}));
  auto exhausted = ports.allocate();
  ASSERT_FALSE(exhausted.is_ok());
  EXPECT_EQ(exhausted.status().code(), kErrorPortsExhausted);
  EXPECT_EQ(exhausted.status().kind(), ErrorKind::kResourceExhausted);
  ports.release(30004);
  ports.release(30004);  // twice: ignored
  ports.release(12345);  // not ours: ignored
  EXPECT_EQ(ports.available(), 1u);
  EXPECT_EQ(*ports.allocate(), 30004);
}

TEST_F(MediaSessionTest, SessionsTakePortsFromTheAllocatorAndGiveThemBack) {
  // A random spot in a high range, so parallel test runs rarely meet; a taken pair is skipped.
  std::random_device random;
  auto base = static_cast<uint16_t>(40000 + 2 * (random() % 9000));
  PortAllocator ports(base, static_cast<uint16_t>(base + 3));
  SystemClock& clock = SystemClock::instance();
  MediaSessionOptions options;
  options.ports = &ports;
  auto first = MediaSession::create(io_, clock, options);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ((*first)->rtcp_port(), (*first)->rtp_port() + 1);
  auto second = MediaSession::create(io_, clock, options);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  auto third = MediaSession::create(io_, clock, options);
  ASSERT_FALSE(third.is_ok());
  EXPECT_EQ(third.status().code(), kErrorPortsExhausted);
  uint16_t freed = (*first)->rtp_port();
  first->reset();
  EXPECT_EQ(ports.available(), 1u);
  auto again = MediaSession::create(io_, clock, options);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ((*again)->rtp_port(), freed);
}

// Issue 11, finding 12: no media to an SDP address before the signalling confirms the peer, and a
// bound on media sent to a peer that never sends any.
class RawPeer {
 public:
  RawPeer() : socket_(io_, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) { socket_.non_blocking(true); }
  uint16_t port() const { return socket_.local_endpoint().port(); }
  // Datagrams waiting now (drains them).
  size_t drain() {
    size_t count = 0;
    std::array<uint8_t, 2048> buffer{};
    udp::endpoint from;
    boost::system::error_code error;
    while (socket_.receive_from(boost::asio::buffer(buffer), from, 0, error) > 0 && !error) ++count;
    return count;
  }
  // Counts datagrams arriving within `window`.
  size_t count_for(milliseconds window) {
    size_t count = 0;
    const auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until) {
      count += drain();
      std::this_thread::sleep_for(milliseconds(5));
    }
    return count + drain();
  }
  void send_rtp_to(uint16_t port, uint16_t sequence) {
    std::vector<uint8_t> packet;
    std::vector<uint8_t> payload(160, 0xff);
    write_rtp(false, 0, sequence, sequence * 160u, 4242, payload, packet);
    socket_.send_to(boost::asio::buffer(packet), udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }

 private:
  boost::asio::io_context io_;
  udp::socket socket_;
};

TEST_F(MediaSessionTest, NothingGoesToTheSdpAddressUntilSendingIsAllowed) {
  SystemClock& clock = SystemClock::instance();
  RawPeer peer;
  auto session = make("unconfirmed", clock);
  session->set_source(std::make_shared<SilenceSource>());
  session->set_remote("127.0.0.1", peer.port(), static_cast<uint16_t>(peer.port() + 1));
  session->start();
  EXPECT_EQ(peer.count_for(milliseconds(400)), 0u) << "no RTP (nor RTCP) before the ACK";
  EXPECT_TRUE(wait_until([&] { return session->counters().withheld >= 5; }));
  EXPECT_EQ(session->counters().packets_sent, 0u);
  session->allow_sending();
  EXPECT_TRUE(wait_until([&] { return peer.drain() > 0; })) << "the ACK came: media flows";
}

TEST_F(MediaSessionTest, RtpFromThePeerLatchesAndAllowsSendingBeforeTheAck) {
  SystemClock& clock = SystemClock::instance();
  RawPeer peer;
  auto session = make("early", clock);
  session->set_source(std::make_shared<SilenceSource>());
  session->set_remote("127.0.0.1", 9, 10);  // the SDP names somewhere else
  session->start();
  EXPECT_EQ(peer.count_for(milliseconds(200)), 0u);
  peer.send_rtp_to(session->rtp_port(), 1);
  EXPECT_TRUE(wait_until([&] { return peer.drain() > 0; })) << "symmetric RTP: sent where the peer's media came from";
}

TEST_F(MediaSessionTest, SendingStopsWhenThePeerNeverSendsAnyRtp) {
  ManualClock& clock = manual_clock_;
  RawPeer peer;
  MediaSessionOptions options;
  options.max_send_without_receive = milliseconds(2'000);
  options.inactivity_timeout = milliseconds(0);
  auto session = make("reflector", clock, options);
  session->set_source(std::make_shared<SilenceSource>());
  session->set_remote("127.0.0.1", peer.port(), static_cast<uint16_t>(peer.port() + 1));
  session->start();
  session->allow_sending();
  // Drive 1.5 s in 20 ms steps: media flows while within the bound.
  auto drive = [&](int steps) {
    size_t received = 0;
    for (int i = 0; i < steps; ++i) {
      clock.advance(milliseconds(20));
      received += peer.count_for(milliseconds(2));
    }
    return received + peer.count_for(milliseconds(100));
  };
  EXPECT_GT(drive(75), 30u);
  (void)drive(40);  // past the 2 s bound
  const uint64_t sent = session->counters().packets_sent;
  EXPECT_EQ(drive(100), 0u) << "nothing more once the bound is spent";
  EXPECT_EQ(session->counters().packets_sent, sent);
  EXPECT_LE(sent, 2'000u / 20 + 5) << "at most the bound's worth of frames";
  // The peer's RTP shows it wants the media: sending resumes.
  peer.send_rtp_to(session->rtp_port(), 1);
  ASSERT_TRUE(wait_until([&] { return session->counters().packets_received == 1; }));
  EXPECT_GT(drive(20), 5u);
}

}  // namespace
}  // namespace vontres::telephony::rtp
