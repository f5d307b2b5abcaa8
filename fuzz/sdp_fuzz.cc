// Feeds arbitrary bytes to the SDP parser, then checks two properties of anything it accepts:
// serialize() output parses back to the same description, and the offer/answer logic answers it
// (or says 488) without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "telephony/sdp/offer_answer.h"
#include "telephony/sdp/session_description.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace sdp = vontres::telephony::sdp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = sdp::parse(text);
  if (!parsed.is_ok()) return 0;
  auto again = sdp::parse(sdp::serialize(*parsed));
  if (!again.is_ok() || !(*again == *parsed)) std::abort();
  sdp::OfferAnswer negotiator(sdp::LocalMedia{}, 1);
  auto answer = negotiator.answer(*parsed);
  if (answer.is_ok()) {
    if (!sdp::parse(sdp::serialize(answer->description)).is_ok()) std::abort();
  }
  (void)negotiator.offer();
  (void)negotiator.accept_answer(*parsed);
  return 0;
}
