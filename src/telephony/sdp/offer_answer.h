// SDP offer/answer (RFC 3264) for one audio stream per call leg, with G.711 (PCMU/0, PCMA/8) and
// RFC 4733 telephone-event. OfferAnswer keeps the local o= line of one leg (session id, version
// incremented whenever the local description changes) and:
//   - answer(): answers a remote offer: the first offered codec we support (in the offerer's order),
//     telephone-event if offered (echoing the offerer's payload type), port 0 for every other m-line,
//     direction mirrored (sendonly -> recvonly, inactive -> inactive, c=0.0.0.0 old-style hold).
//     No acceptable audio stream is the error kNotAcceptable: answer the INVITE with 488.
//   - offer(): a new offer (initial INVITE towards an agent, or re-INVITE for hold/resume).
//   - accept_answer(): checks the remote answer to our last offer.
// Both answer() and accept_answer() return a NegotiatedAudio that the call service maps to the RTP
// settings of its MediaSession (this library does not depend on the RTP library, nor vice versa).
//
// Thread-safety: not thread-safe; one OfferAnswer per call leg, used from that leg's strand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "telephony/sdp/session_description.h"

namespace vontres::telephony::sdp {

// Status::code() when no offered audio stream can be accepted: the SIP layer answers 488.
inline constexpr std::string_view kNotAcceptable = "sdp_not_acceptable";
// Status::code() when an answer does not match our offer (wrong m-line count, a codec we did not offer).
inline constexpr std::string_view kBadAnswer = "sdp_bad_answer";

enum class AudioCodec { kPcmu, kPcma };
std::string_view codec_name(AudioCodec codec);  // "PCMU", "PCMA"

struct LocalMedia {
  std::string address = "127.0.0.1";  // our RTP address (c= and o=)
  uint16_t rtp_port = 0;
  std::optional<uint16_t> rtcp_port;  // written as a=rtcp when not rtp_port + 1
  bool pcmu = true;
  bool pcma = true;
  bool telephone_event = true;
  int telephone_event_payload_type = 101;  // in our offers; answers echo the offerer's
  int ptime_ms = 20;
  std::string username = "vontres";
  std::string session_name = "Vontres";
};

// What was agreed for the audio stream; everything the RTP layer needs.
struct NegotiatedAudio {
  AudioCodec codec = AudioCodec::kPcmu;
  int payload_type = 0;
  std::optional<int> telephone_event_payload_type;
  std::string remote_address;  // "0.0.0.0" when the peer holds old-style
  uint16_t remote_rtp_port = 0;
  uint16_t remote_rtcp_port = 0;
  int ptime_ms = 20;         // the peer's a=ptime, or 20
  bool send = true;          // we may send media
  bool receive = true;       // the peer will send media
  bool remote_hold = false;  // the peer put us on hold (sendonly/inactive/0.0.0.0)
  size_t media_index = 0;    // which m-line carries it
  friend bool operator==(const NegotiatedAudio&, const NegotiatedAudio&) = default;
};

struct Answer {
  SessionDescription description;
  NegotiatedAudio audio;
};

class OfferAnswer {
 public:
  OfferAnswer(LocalMedia local, uint64_t session_id);

  const LocalMedia& local() const { return local_; }
  // Changes our address/ports (e.g. a new MediaSession); the next description has a new version.
  void set_local(LocalMedia local) { local_ = std::move(local); }

  // Answers `offer`. `local_direction` is what we want (kSendOnly to hold the peer); the answer's
  // direction is the intersection with what the offer allows.
  Result<Answer> answer(const SessionDescription& offer, Direction local_direction = Direction::kSendRecv);

  // A new offer with our codecs (PCMU, PCMA, telephone-event) and `direction` (kSendOnly = hold,
  // kSendRecv = resume). It becomes the offer accept_answer() checks.
  SessionDescription offer(Direction direction = Direction::kSendRecv);

  // Checks the answer to our last offer() and says what was agreed.
  Result<NegotiatedAudio> accept_answer(const SessionDescription& answer);

  uint64_t session_version() const { return version_; }

 private:
  // Fills o= and bumps the version when the description differs from the last one we sent.
  void stamp(SessionDescription& description);

  LocalMedia local_;
  uint64_t session_id_;
  uint64_t version_ = 0;
  std::optional<SessionDescription> last_sent_;
  std::optional<SessionDescription> last_offer_;
};

}  // namespace vontres::telephony::sdp
