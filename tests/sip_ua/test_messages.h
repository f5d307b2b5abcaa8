// Message builders shared by the SIP UA tests.
#pragma once

#include <string>

#include "telephony/sip/message.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua::testing {

inline sip::Message request(const std::string& method, const std::string& branch = "z9hG4bKabc123", uint32_t cseq = 1,
                            const std::string& sent_by = "10.0.0.1:5060") {
  sip::Message message = sip::Message::request(method, "sip:bob@10.0.0.2");
  message.add_header("Via", "SIP/2.0/UDP " + sent_by + ";branch=" + branch);
  message.add_header("Max-Forwards", "70");
  message.add_header("From", "<sip:alice@10.0.0.1>;tag=from1");
  message.add_header("To", "<sip:bob@10.0.0.2>");
  message.add_header("Call-ID", "call-1@10.0.0.1");
  message.add_header("CSeq", std::to_string(cseq) + " " + (method == "ACK" ? std::string("INVITE") : method));
  if (method == "ACK") message.set_header("CSeq", std::to_string(cseq) + " ACK");
  message.add_header("Contact", "<sip:alice@10.0.0.1:5060>");
  return message;
}

inline sip::Message response_to(const sip::Message& req, int status, const std::string& to_tag = "to1") {
  return make_response(req, status, {}, status > 100 ? to_tag : std::string());
}

inline Peer udp_peer() { return Peer{TransportKind::kUdp, "10.0.0.2", 5060, 0}; }
inline Peer tcp_peer() { return Peer{TransportKind::kTcp, "10.0.0.2", 5060, 7}; }

}  // namespace vontres::telephony::ua::testing
