// Property-style tests: random header order, name case and compact forms, random folding and
// random edits must not change what the parser sees, and serialize -> parse is the identity.
// Seeded RNG, so a failure reproduces.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "telephony/sip/message.h"
#include "telephony/sip/validate.h"

namespace vontres::telephony::sip {
namespace {

struct Field {
  std::string name;
  std::string compact;  // empty when the header has none
  std::string value;
};

const std::vector<Field> kFields = {
    {"Via", "v", "SIP/2.0/UDP pc33.example.org:5060;branch=z9hG4bK776asdhds;rport"},
    {"Via", "v", "SIP/2.0/TCP [2001:db8::1];branch=z9hG4bK1;received=192.0.2.1"},
    {"Max-Forwards", "", "70"},
    {"To", "t", "\"Bob, the agent\" <sip:bob@example.com>"},
    {"From", "f", "Alice <sip:alice@example.org;transport=udp>;tag=1928301774"},
    {"Call-ID", "i", "a84b4c76e66710@pc33.example.org"},
    {"CSeq", "", "314159 INVITE"},
    {"Contact", "m", "<sip:alice@pc33.example.org>;expires=60"},
    {"Supported", "k", "timer"},
    {"Subject", "s", "a call, with commas"},
    {"X-Unknown", "", "a, b;c"},
    {"Content-Type", "c", "application/sdp"},
};

std::string random_case(const std::string& s, std::mt19937& rng) {
  std::string out = s;
  for (char& c : out) {
    if (rng() % 2)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    else
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Folds at a space, if there is one, with random whitespace.
std::string random_fold(const std::string& value, std::mt19937& rng) {
  size_t space = value.find(' ');
  if (space == std::string::npos || rng() % 3 != 0) return value;
  return value.substr(0, space) + (rng() % 2 ? "\r\n " : "  \r\n\t  ") + value.substr(space + 1);
}

TEST(Property, HeaderOrderCaseCompactFormsAndFoldingDoNotChangeTheMessage) {
  std::mt19937 rng(20240611);
  const std::string body = "v=0\r\n";
  for (int round = 0; round < 500; ++round) {
    std::vector<Field> fields = kFields;
    // Keep the two Vias in order (their order is meaningful); shuffle everything else around them.
    std::shuffle(fields.begin() + 2, fields.end(), rng);
    std::string wire = "INVITE sip:bob@example.com SIP/2.0\r\n";
    for (const auto& f : fields) {
      std::string name = !f.compact.empty() && rng() % 2 ? f.compact : f.name;
      wire += random_case(name, rng) + std::string(rng() % 3, ' ') + ":" + std::string(rng() % 3, ' ') +
              random_fold(f.value, rng) + "\r\n";
    }
    wire += (rng() % 2 ? "l: " : "content-LENGTH: ") + std::to_string(body.size()) + "\r\n\r\n" + body;
    auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed) << parsed.error->detail << "\n" << wire;
    const Message& m = *parsed.message;
    EXPECT_EQ(check_request(m, {}), std::nullopt) << wire;
    for (const auto& f : kFields) {
      if (f.name == "Via") continue;
      auto value = m.header(random_case(f.name, rng));
      ASSERT_TRUE(value) << f.name;
      // Folding collapses to one space; values without folding are unchanged.
      EXPECT_EQ(*value, f.value) << f.name << "\n" << wire;
    }
    auto vias = m.headers_named("v");
    ASSERT_EQ(vias.size(), 2U);
    EXPECT_EQ(vias[0], kFields[0].value);
    EXPECT_EQ(vias[1], kFields[1].value);
    EXPECT_EQ(m.body(), body);
    auto again = parse_message(m.serialize());
    ASSERT_TRUE(again);
    EXPECT_EQ(again.message->serialize(), m.serialize());
  }
}

TEST(Property, CommaSeparatedAndSeparateLinesAreEquivalent) {
  std::mt19937 rng(7);
  std::vector<std::string> routes = {"<sip:p1.example.com;lr>", "\"x,y\" <sip:p2.example.com;lr>",
                                     "<sip:u,v@p3.example.com;lr>", "<sip:p4.example.com;lr;foo=bar>"};
  for (int round = 0; round < 200; ++round) {
    std::string wire = "OPTIONS sip:a@b.example SIP/2.0\r\n";
    size_t i = 0;
    while (i < routes.size()) {
      size_t take = 1 + rng() % (routes.size() - i);
      wire += "Route: ";
      for (size_t k = 0; k < take; ++k) wire += (k ? " ,  " : "") + routes[i + k];
      wire += "\r\n";
      i += take;
    }
    wire += "l: 0\r\n\r\n";
    auto parsed = parse_message(wire);
    ASSERT_TRUE(parsed) << wire;
    auto got = parsed.message->headers_named("Route");
    ASSERT_EQ(got.size(), routes.size()) << wire;
    for (size_t k = 0; k < routes.size(); ++k) EXPECT_EQ(got[k], routes[k]);
  }
}

TEST(Property, RandomByteEditsNeverBreakTheRoundTrip) {
  std::mt19937 rng(99);
  std::string base =
      "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
      "To: <sip:bob@example.com>\r\nFrom: \"A\" <sip:a@example.org>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\n"
      "Contact: <sip:a@h.example>\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n";
  const std::string alphabet = " \t\r\n:;,<>\"\\@=%/[]?aZ09.-*";
  int accepted = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string wire = base;
    for (int edits = 1 + rng() % 3; edits > 0; --edits) {
      size_t at = rng() % wire.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: wire[at] = c; break;
        case 1: wire.insert(wire.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: wire.erase(at, 1); break;
      }
    }
    auto parsed = parse_message(wire);
    if (!parsed) continue;
    ++accepted;
    std::string once = parsed.message->serialize();
    auto again = parse_message(once);
    ASSERT_TRUE(again) << again.error->detail << "\n" << wire;
    EXPECT_EQ(again.message->serialize(), once) << wire;
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace vontres::telephony::sip
