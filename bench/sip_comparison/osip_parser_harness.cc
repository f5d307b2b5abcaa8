// libFuzzer harness for GNU oSIP2's message parser (osip_message_parse + osip_message_to_str),
// used once for the stack decision in docs/sip-stack.md. Deliberately not a fuzz/*_fuzz.cc file:
// it is not part of CI. Built by bench/sip_stack_comparison.sh --fuzz.
#include <osipparser2/osip_parser.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parser_init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  osip_message_t* msg = nullptr;
  if (osip_message_init(&msg) != 0) return 0;
  if (osip_message_parse(msg, reinterpret_cast<const char*>(data), size) == 0) {
    char* text = nullptr;
    size_t length = 0;
    if (osip_message_to_str(msg, &text, &length) == 0) osip_free(text);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  osip_message_free(msg);
  return 0;
}
