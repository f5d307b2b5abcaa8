// Runs GNU oSIP2's osip_message_parse (and a few header accessors) over the RFC 4475 torture
// messages in tests/sip/torture/ and prints, per message, what oSIP2 did next to what the RFC
// prescribes (the manifest's outcome) and what our parser did. Built by
// bench/sip_stack_comparison.sh; not part of the product or of CI.
//
// Usage: osip_torture <dir with expected.txt and *.dat>
#include <osipparser2/osip_parser.h>

#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "telephony/sip/message.h"
#include "telephony/sip/validate.h"

namespace {

void discard_trace(const char* /*file*/, int /*line*/, osip_trace_level_t /*level*/, const char* /*format*/,
                   va_list /*args*/) {}

struct OsipMessageDeleter {
  void operator()(osip_message_t* m) const { osip_message_free(m); }
};
using OsipMessage = std::unique_ptr<osip_message_t, OsipMessageDeleter>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// What oSIP2 makes of the message: "reject" or "ok" plus what its accessors expose.
std::string osip_outcome(const std::string& data, bool& accepted) {
  osip_message_t* raw = nullptr;
  if (osip_message_init(&raw) != 0) return "init-failed";
  OsipMessage msg(raw);
  int rc = osip_message_parse(msg.get(), data.data(), data.size());
  accepted = rc == 0;
  if (!accepted) return "reject(" + std::to_string(rc) + ")";
  std::ostringstream out;
  out << "ok vias=" << osip_list_size(&msg->vias);
  out << " to=" << (msg->to != nullptr ? "y" : "n") << " from=" << (msg->from != nullptr ? "y" : "n");
  out << " callid=" << (msg->call_id != nullptr ? "y" : "n");
  if (msg->cseq != nullptr && msg->cseq->number != nullptr) out << " cseq=" << msg->cseq->number;
  if (msg->content_length != nullptr && msg->content_length->value != nullptr) {
    out << " cl=" << msg->content_length->value;
  }
  int body_bytes = 0;
  for (int i = 0; i < osip_list_size(&msg->bodies); ++i) {
    auto* body = static_cast<osip_body_t*>(osip_list_get(&msg->bodies, i));
    if (body != nullptr) body_bytes += static_cast<int>(body->length);
  }
  out << " body=" << body_bytes;
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: osip_torture <torture dir>\n";
    return 2;
  }
  parser_init();
  osip_trace_initialize_func(END_TRACE_LEVEL, &discard_trace);  // quiet: oSIP2 logs every parse error
  std::string dir = argv[1];
  std::ifstream manifest(dir + "/expected.txt");
  std::string line;
  int syntax_valid = 0, osip_rejects_valid = 0, syntax_invalid = 0, osip_accepts_invalid = 0;
  int semantic = 0, ours_match = 0, total = 0;
  std::string rejected_valid, accepted_invalid;
  std::printf("%-11s %-9s %-12s %-12s %s\n", "message", "section", "rfc", "ours", "osip2");
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, parse, check, section;
    fields >> file >> parse >> check >> section;
    std::string data = read_file(dir + "/" + file + ".dat");
    std::string expected_check = check.substr(0, check.find('|'));
    std::string rfc =
        parse != "ok" ? parse : (expected_check == "ok" || expected_check == "-" ? "accept" : expected_check);
    auto ours = vontres::telephony::sip::parse_message(data);
    std::string ours_text;
    if (!ours) {
      ours_text = "reject-" + std::to_string(ours.error->response_status);
    } else {
      auto rejection = vontres::telephony::sip::check_request(*ours.message, {});
      ours_text = rejection ? std::to_string(rejection->response_status) : "accept";
    }
    bool osip_accepted = false;
    std::string osip = osip_outcome(data, osip_accepted);
    ++total;
    if (ours_text == rfc) ++ours_match;
    if (parse == "ok") {
      ++syntax_valid;
      if (expected_check != "ok" && expected_check != "-") ++semantic;
      if (!osip_accepted) {
        ++osip_rejects_valid;
        rejected_valid += " " + file;
      }
    } else {
      ++syntax_invalid;
      if (osip_accepted) {
        ++osip_accepts_invalid;
        accepted_invalid += " " + file;
      }
    }
    std::printf("%-11s %-9s %-12s %-12s %s\n", file.c_str(), section.c_str(), rfc.c_str(), ours_text.c_str(),
                osip.c_str());
  }
  std::printf("\nmessages: %d; ours matches the RFC outcome on %d\n", total, ours_match);
  std::printf("syntactically valid (must parse): %d; osip_message_parse rejects %d:%s\n", syntax_valid,
              osip_rejects_valid, rejected_valid.c_str());
  std::printf("  of these, %d need a 4xx/5xx from request validation, a layer oSIP2 does not have\n", semantic);
  std::printf("syntactically invalid (must be rejected): %d; osip_message_parse accepts %d:%s\n", syntax_invalid,
              osip_accepts_invalid, accepted_invalid.c_str());
  return 0;
}
