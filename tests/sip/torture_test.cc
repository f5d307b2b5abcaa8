// Runs every RFC 4475 torture message in tests/sip/torture/ through parse_message and
// check_request and compares with the outcome recorded in expected.txt (see that file's header).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "telephony/sip/message.h"
#include "telephony/sip/validate.h"

namespace vontres::telephony::sip {
namespace {

struct Case {
  std::string file;
  std::string parse;
  std::string check;
  std::string section;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.file << " (" << c.section << ")"; }

std::string torture_dir() { return std::string(VONTRES_SOURCE_DIR) + "/tests/sip/torture/"; }

std::vector<Case> load_manifest() {
  std::ifstream in(torture_dir() + "expected.txt");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    fields >> c.file >> c.parse >> c.check >> c.section;
    cases.push_back(c);
  }
  return cases;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string check_outcome(const Message& message, Role role) {
  if (!message.is_request()) return "-";
  RequestChecks checks;
  checks.role = role;
  auto error = check_request(message, checks);
  return error ? std::to_string(error->response_status) : "ok";
}

class TortureTest : public ::testing::TestWithParam<Case> {};

TEST_P(TortureTest, ParsesAndValidatesAsTheRfcPrescribes) {
  const Case& c = GetParam();
  std::string data = read_file(torture_dir() + c.file + ".dat");
  ASSERT_FALSE(data.empty()) << c.file;
  auto parsed = parse_message(data);
  if (c.parse == "ok") {
    ASSERT_TRUE(parsed) << c.file << " (" << c.section << "): " << parsed.error->detail;
  } else {
    ASSERT_FALSE(parsed) << c.file << " (" << c.section << ") was accepted";
    EXPECT_EQ("reject-" + std::to_string(parsed.error->response_status), c.parse)
        << c.file << ": " << parsed.error->detail;
    return;
  }
  const Message& message = *parsed.message;
  std::string expected_uas = c.check.substr(0, c.check.find('|'));
  EXPECT_EQ(check_outcome(message, Role::kUserAgentServer), expected_uas) << c.file << " (" << c.section << ")";
  if (auto proxy = c.check.find("|proxy="); proxy != std::string::npos) {
    EXPECT_EQ(check_outcome(message, Role::kProxy), c.check.substr(proxy + 7)) << c.file;
  }
  // Whatever parses must survive serialize -> parse unchanged.
  auto again = parse_message(message.serialize());
  ASSERT_TRUE(again) << c.file << ": " << again.error->detail;
  EXPECT_EQ(again.message->method(), message.method());
  EXPECT_EQ(again.message->request_uri(), message.request_uri());
  EXPECT_EQ(again.message->status(), message.status());
  EXPECT_EQ(again.message->reason(), message.reason());
  EXPECT_EQ(again.message->body(), message.body());
  auto without_length = [](const Message& m) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& h : m.headers()) {
      if (h.name != "Content-Length") out.emplace_back(h.name, h.value);
    }
    return out;
  };
  EXPECT_EQ(without_length(*again.message), without_length(message)) << c.file;
}

INSTANTIATE_TEST_SUITE_P(Rfc4475, TortureTest, ::testing::ValuesIn(load_manifest()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.file; });

TEST(TortureManifest, CoversEveryMessageFile) { EXPECT_EQ(load_manifest().size(), 49U); }

// Details the RFC calls out, beyond accept/reject.
TEST(TortureDetails, ShortTortuousInviteHasThreeViasAndUnsplitUnknownHeader) {
  auto parsed = parse_message(read_file(torture_dir() + "wsinv.dat"));
  ASSERT_TRUE(parsed);
  const Message& m = *parsed.message;
  auto vias = m.headers_named("v");
  ASSERT_EQ(vias.size(), 3U);
  EXPECT_EQ(parse_via(vias[0])->host, "192.0.2.2");
  EXPECT_EQ(parse_via(vias[1])->branch(), "z9hG4bK9ikj8");
  EXPECT_EQ(parse_via(vias[2])->host, "192.168.255.111");
  EXPECT_EQ(parse_via(vias[2])->branch(), "z9hG4bK30239");
  EXPECT_EQ(m.header("UnknownHeaderWithUnusualValue"), ";;,,;;,;");
  EXPECT_EQ(m.header("NewFangledHeader"), "newfangled value continued newfangled value");
  EXPECT_EQ(m.header("Subject"), "");
  EXPECT_EQ(parse_cseq(*m.header("CSeq"))->sequence, 9U);
  EXPECT_EQ(parse_name_addr(*m.header("From"))->display_name, "J Rosenberg \\\"");
  auto contact = parse_name_addr(*m.header("m"));
  ASSERT_TRUE(contact);
  EXPECT_EQ(contact->display_name, "Quoted string \"\"");
  EXPECT_EQ(contact->param("newparam"), "newvalue");
  EXPECT_EQ(contact->param("q"), "0.33");
  EXPECT_EQ(m.body().size(), 150U);
}

TEST(TortureDetails, EscapesDecodeInUriButNotElsewhere) {
  auto esc01 = parse_message(read_file(torture_dir() + "esc01.dat"));
  ASSERT_TRUE(esc01);
  EXPECT_EQ(parse_uri(esc01.message->request_uri())->user, "sips:user@example.com");
  auto contact = parse_name_addr(*esc01.message->header("Contact"));
  EXPECT_TRUE(contact->uri.param("lr"));
  EXPECT_EQ(contact->uri.param("name"), "value%41");
  auto escnull = parse_message(read_file(torture_dir() + "escnull.dat"));
  ASSERT_TRUE(escnull);
  auto contacts = escnull.message->headers_named("Contact");
  ASSERT_EQ(contacts.size(), 2U);
  EXPECT_EQ(parse_name_addr(contacts[0])->uri.user, std::string(1, '\0'));
  EXPECT_EQ(parse_name_addr(contacts[1])->uri.user, std::string(2, '\0'));
  auto esc02 = parse_message(read_file(torture_dir() + "esc02.dat"));
  ASSERT_TRUE(esc02);
  EXPECT_EQ(esc02.message->method(), "RE%47IST%45R");
  EXPECT_EQ(esc02.message->headers_named("Contact").size(), 2U);
  EXPECT_EQ(parse_name_addr(*esc02.message->header("To"))->display_name, "%Z%45");
}

TEST(TortureDetails, TrailingDatagramBytesAreIgnored) {
  auto parsed = parse_message(read_file(torture_dir() + "dblreq.dat"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.message->method(), "REGISTER");
  EXPECT_TRUE(parsed.message->body().empty());
}

TEST(TortureDetails, ContactParamPlacementFollowsAngleBrackets) {
  auto p1 = parse_message(read_file(torture_dir() + "cparam01.dat"));
  auto p2 = parse_message(read_file(torture_dir() + "cparam02.dat"));
  ASSERT_TRUE(p1 && p2);
  auto c1 = parse_name_addr(*p1.message->header("Contact"));
  auto c2 = parse_name_addr(*p2.message->header("Contact"));
  EXPECT_TRUE(c1->param("unknownparam"));
  EXPECT_FALSE(c1->uri.param("unknownparam"));
  EXPECT_TRUE(c2->uri.param("unknownparam"));
  EXPECT_FALSE(c2->param("unknownparam"));
}

TEST(TortureDetails, BadExtensionListsUnsupportedTags) {
  auto parsed = parse_message(read_file(torture_dir() + "bext01.dat"));
  ASSERT_TRUE(parsed);
  RequestChecks uas;
  auto error = check_request(*parsed.message, uas);
  ASSERT_TRUE(error);
  ASSERT_EQ(error->response_headers.size(), 1U);
  EXPECT_EQ(error->response_headers[0].name, "Unsupported");
  EXPECT_EQ(error->response_headers[0].value, "nothingSupportsThis, nothingSupportsThisEither");
  RequestChecks proxy;
  proxy.role = Role::kProxy;
  error = check_request(*parsed.message, proxy);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->response_headers[0].value, "noProxiesSupportThis, norDoAnyProxiesSupportThis");
}

TEST(TortureDetails, BinaryMultipartBodyIsKeptExactly) {
  std::string data = read_file(torture_dir() + "mpart01.dat");
  auto parsed = parse_message(data);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.message->body(), data.substr(data.find("\r\n\r\n") + 4));
}

}  // namespace
}  // namespace vontres::telephony::sip
