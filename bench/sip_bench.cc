// SIP message parse/serialize throughput (messages/s) for a typical INVITE with SDP, a 200 OK, a
// REGISTER and a torture-style INVITE (RFC 4475 3.1.1.1), each next to GNU oSIP2's
// osip_message_parse on the same bytes in the same run when oSIP2 is available
// (VONTRES_HAVE_OSIP2), so the report is a ratio. Run: build-sip/bench/vontres_sip_bench
#include <benchmark/benchmark.h>

#include <string>

#include "telephony/sip/message.h"

#ifdef VONTRES_HAVE_OSIP2
#include <osipparser2/osip_parser.h>
#endif

namespace {

std::string crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const std::string kSdp = crlf(
    "v=0\no=alice 2890844526 2890844526 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n"
    "m=audio 49170 RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=sendrecv\n");

const std::string kInvite = crlf(
                                "INVITE sip:support@callcenter.example.com SIP/2.0\n"
                                "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport\n"
                                "Max-Forwards: 70\n"
                                "To: \"Support\" <sip:support@callcenter.example.com>\n"
                                "From: \"Alice\" <sip:alice@example.org>;tag=1928301774\n"
                                "Call-ID: a84b4c76e66710@pc33.example.org\n"
                                "CSeq: 314159 INVITE\n"
                                "Contact: <sip:alice@198.51.100.7:5060;transport=udp>\n"
                                "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\n"
                                "Supported: replaces, timer\n"
                                "User-Agent: softphone/1.0\n"
                                "Content-Type: application/sdp\n"
                                "Content-Length: ") +
                            std::to_string(kSdp.size()) + "\r\n\r\n" + kSdp;

const std::string kOk =
    crlf(
        "SIP/2.0 200 OK\n"
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport=5060;received=198.51.100.7\n"
        "To: \"Support\" <sip:support@callcenter.example.com>;tag=a6c85cf\n"
        "From: \"Alice\" <sip:alice@example.org>;tag=1928301774\n"
        "Call-ID: a84b4c76e66710@pc33.example.org\n"
        "CSeq: 314159 INVITE\n"
        "Contact: <sip:support@203.0.113.5:5060>\n"
        "Record-Route: <sip:proxy.example.com;lr>, <sip:edge.example.com;lr>\n"
        "Content-Type: application/sdp\n"
        "Content-Length: ") +
    std::to_string(kSdp.size()) + "\r\n\r\n" + kSdp;

const std::string kRegister = crlf(
    "REGISTER sip:callcenter.example.com SIP/2.0\n"
    "Via: SIP/2.0/TCP 198.51.100.9:5060;branch=z9hG4bKnashds7\n"
    "Max-Forwards: 70\n"
    "To: <sip:agent42@callcenter.example.com>\n"
    "From: <sip:agent42@callcenter.example.com>;tag=456248\n"
    "Call-ID: 843817637684230@998sdasdh09\n"
    "CSeq: 1826 REGISTER\n"
    "Contact: <sip:agent42@198.51.100.9:5060;transport=tcp>;expires=3600\n"
    "Content-Length: 0\n\n");

// RFC 4475 3.1.1.1 (wsinv): folding, odd whitespace, compact forms, escaped quotes.
const std::string kTorture = crlf(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
    "TO :\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
    "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n  ;\n  tag = 98asjd8\n"
    "MaX-fOrWaRdS: 0068\n"
    "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
    "Content-Length   : 150\n"
    "cseq: 0009\n  INVITE\n"
    "Via  : SIP  /   2.0\n /UDP\n    192.0.2.2;branch=390skdjuw\n"
    "s :\n"
    "NewFangledHeader:   newfangled value\n continued newfangled value\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
    "Content-Type: application/sdp\n"
    "Route:\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n  branch  =   z9hG4bK9ikj8  ,\n"
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n z9hG4bK30239\n"
    "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\n      newvalue ;\n"
    "  secondparam ; q = 0.33\n\n"
    "v=0\no=mhandley 29739 7272939 IN IP4 192.0.2.3\ns=-\nc=IN IP4 192.0.2.4\nt=0 0\n"
    "m=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n");

const std::string& message_for(int which) {
  switch (which) {
    case 0: return kInvite;
    case 1: return kOk;
    case 2: return kRegister;
    default: return kTorture;
  }
}
const char* name_for(int which) {
  static const char* kNames[] = {"invite_sdp", "ok_200", "register", "torture_wsinv"};
  return kNames[which];
}

void BM_VontresParse(benchmark::State& state) {
  const std::string& data = message_for(static_cast<int>(state.range(0)));
  state.SetLabel(name_for(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    auto result = vontres::telephony::sip::parse_message(data);
    if (!result) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_VontresParse)->DenseRange(0, 3);

void BM_VontresSerialize(benchmark::State& state) {
  auto parsed = vontres::telephony::sip::parse_message(message_for(static_cast<int>(state.range(0))));
  state.SetLabel(name_for(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    std::string wire = parsed.message->serialize();
    benchmark::DoNotOptimize(wire);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VontresSerialize)->DenseRange(0, 3);

#ifdef VONTRES_HAVE_OSIP2
void BM_Osip2Parse(benchmark::State& state) {
  static const int kInit = parser_init();
  (void)kInit;
  const std::string& data = message_for(static_cast<int>(state.range(0)));
  state.SetLabel(name_for(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    osip_message_t* msg = nullptr;
    osip_message_init(&msg);
    if (osip_message_parse(msg, data.data(), data.size()) != 0) state.SkipWithError("osip parse failed");
    osip_message_free(msg);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_Osip2Parse)->DenseRange(0, 3);

void BM_Osip2Serialize(benchmark::State& state) {
  static const int kInit = parser_init();
  (void)kInit;
  const std::string& data = message_for(static_cast<int>(state.range(0)));
  state.SetLabel(name_for(static_cast<int>(state.range(0))));
  osip_message_t* msg = nullptr;
  osip_message_init(&msg);
  osip_message_parse(msg, data.data(), data.size());
  for (auto _ : state) {
    osip_message_force_update(msg);
    char* text = nullptr;
    size_t length = 0;
    osip_message_to_str(msg, &text, &length);
    osip_free(text);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  osip_message_free(msg);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Osip2Serialize)->DenseRange(0, 3);
#endif

}  // namespace

BENCHMARK_MAIN();
