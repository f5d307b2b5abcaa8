// libFuzzer harness for GNU oSIP2's message parser (osip_message_parse + osip_message_to_str),
// used once for the stack decision in docs/sip-stack.md. Deliberately not a fuzz/*_fuzz.cc file:
// it is not part of CI. Built and run by bench/sip_stack_comparison.sh --fuzz.
//
// Debian's libosipparser2 is not instrumented, so libFuzzer gets no coverage from inside oSIP2 and
// would shrink any seed corpus to a few bytes. Instead each input is (a) parsed as is and (b) read
// as an edit script applied to one of the seed messages in $OSIP_SEEDS (overwrite, insert, delete,
// duplicate a span), so oSIP2 keeps seeing near-valid SIP that reaches its header and body parsers.
#include <osipparser2/osip_parser.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

void discard_trace(const char* /*file*/, int /*line*/, osip_trace_level_t /*level*/, const char* /*format*/,
                   va_list /*args*/) {}

std::vector<std::string>& seeds() {
  static std::vector<std::string> list;
  return list;
}

void parse_with_osip(const std::string& data) {
  osip_message_t* msg = nullptr;
  if (osip_message_init(&msg) != 0) return;
  if (osip_message_parse(msg, data.data(), data.size()) == 0) {
    char* text = nullptr;
    size_t length = 0;
    if (osip_message_to_str(msg, &text, &length) == 0) osip_free(text);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  osip_message_free(msg);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parser_init();
  osip_trace_initialize_func(END_TRACE_LEVEL, &discard_trace);  // quiet: oSIP2 logs every parse error
  if (const char* dir = std::getenv("OSIP_SEEDS")) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      seeds().push_back(text.str());
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parse_with_osip(std::string(reinterpret_cast<const char*>(data), size));
  if (seeds().empty() || size < 1) return 0;
  std::string message = seeds()[data[0] % seeds().size()];
  for (size_t i = 1; i + 3 < size && !message.empty(); i += 4) {
    size_t at = (static_cast<size_t>(data[i + 1]) << 8 | data[i + 2]) % message.size();
    char value = static_cast<char>(data[i + 3]);
    switch (data[i] % 5) {
      case 0: message[at] = value; break;
      case 1: message.insert(at, 1, value); break;
      case 2: message.erase(at, 1 + static_cast<size_t>(data[i + 3]) % 16); break;
      case 3: message.insert(at, message.substr(at, static_cast<size_t>(data[i + 3]))); break;
      default: message.insert(at, value % 2 ? "\r\n" : ", "); break;
    }
    if (message.size() > 16384) break;
  }
  parse_with_osip(message);
  return 0;
}
