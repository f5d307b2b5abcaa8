// Feeds arbitrary bytes to the Twilio Media Streams message parser and checks that anything it
// accepts serializes to text that parses back to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "telephony/media_stream/twilio_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace ms = vontres::telephony::media_stream;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ms::parse_message(text);
  if (!parsed.is_ok()) return 0;
  auto again = ms::parse_message(ms::serialize(*parsed));
  if (!again.is_ok() || !(*again == *parsed)) std::abort();
  (void)ms::base64_decode(text);
  return 0;
}
