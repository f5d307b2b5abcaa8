// Dialog creation on both sides (RFC 3261 12.1), in-dialog requests (12.2.1.1) and checks of
// incoming ones (12.2.2).
#include "telephony/ua/dialog.h"

#include <gtest/gtest.h>

#include "sip_ua/test_messages.h"

namespace vontres::telephony::ua {
namespace {

using testing::request;
using testing::response_to;

sip::Message invite_with_record_route() {
  auto invite = request("INVITE", "z9hG4bKinv", 10);
  invite.add_header("Record-Route", "<sip:p1.example;lr>");
  invite.add_header("Record-Route", "<sip:p2.example;lr>");
  return invite;
}

sip::Message ok_for(const sip::Message& invite) {
  auto ok = response_to(invite, 200, "bobtag");  // carries the INVITE's Record-Route (RFC 3261 12.1.1)
  ok.add_header("Contact", "<sip:bob@10.0.0.2:5070;transport=udp>");
  return ok;
}

TEST(DialogTest, UacDialogFromInviteAnd2xx) {
  auto invite = invite_with_record_route();
  auto dialog = Dialog::from_uac(invite, ok_for(invite));
  ASSERT_TRUE(dialog) << dialog.status().to_string();
  EXPECT_EQ(dialog->role(), Dialog::Role::kUac);
  EXPECT_EQ(dialog->id().call_id, "call-1@10.0.0.1");
  EXPECT_EQ(dialog->id().local_tag, "from1");
  EXPECT_EQ(dialog->id().remote_tag, "bobtag");
  EXPECT_EQ(dialog->local_cseq(), 10u);
  EXPECT_FALSE(dialog->remote_cseq());
  EXPECT_EQ(dialog->route_set(), (std::vector<std::string>{"<sip:p2.example;lr>", "<sip:p1.example;lr>"}));
  EXPECT_EQ(dialog->remote_target(), "sip:bob@10.0.0.2:5070;transport=udp");
  EXPECT_FALSE(dialog->early());
  EXPECT_FALSE(dialog->secure());
  EXPECT_EQ(dialog->next_hop(), "sip:p2.example;lr");
}

TEST(DialogTest, UacDialogNeedsAToTag) {
  auto invite = request("INVITE");
  auto ok = make_response(invite, 200);
  auto dialog = Dialog::from_uac(invite, ok);
  ASSERT_FALSE(dialog);
  EXPECT_EQ(dialog.status().code(), "no_to_tag");
  EXPECT_FALSE(Dialog::from_uac(invite, response_to(invite, 486)));
}

TEST(DialogTest, EarlyDialogFromTaggedProvisionalIsConfirmedBy2xx) {
  auto invite = invite_with_record_route();
  auto ringing = response_to(invite, 180, "bobtag");
  auto dialog = Dialog::from_uac(invite, ringing);
  ASSERT_TRUE(dialog);
  EXPECT_TRUE(dialog->early());
  EXPECT_EQ(dialog->route_set().size(), 2u);  // the 180 carries the Record-Route set too
  dialog->confirm(ok_for(invite));
  EXPECT_FALSE(dialog->early());
  EXPECT_EQ(dialog->route_set().size(), 2u);
  EXPECT_EQ(dialog->remote_target(), "sip:bob@10.0.0.2:5070;transport=udp");
}

TEST(DialogTest, UacBuildsByeAndAckWithRouteSet) {
  auto invite = invite_with_record_route();
  auto dialog = Dialog::from_uac(invite, ok_for(invite));
  ASSERT_TRUE(dialog);
  auto ack = dialog->make_request("ACK");
  EXPECT_EQ(ack.method(), "ACK");
  EXPECT_EQ(ack.header("CSeq"), "10 ACK");  // the INVITE's number
  EXPECT_EQ(ack.request_uri(), "sip:bob@10.0.0.2:5070;transport=udp");
  EXPECT_EQ(ack.headers_named("Route"), (std::vector<std::string_view>{"<sip:p2.example;lr>", "<sip:p1.example;lr>"}));
  EXPECT_FALSE(ack.has_header("Via"));

  auto bye = dialog->make_request("BYE");
  EXPECT_EQ(bye.header("CSeq"), "11 BYE");
  EXPECT_EQ(bye.header("From"), invite.header("From"));
  EXPECT_EQ(bye.header("To"), "<sip:bob@10.0.0.2>;tag=bobtag");
  EXPECT_EQ(bye.header("Call-ID"), "call-1@10.0.0.1");
  EXPECT_EQ(bye.header("Max-Forwards"), "70");
  EXPECT_FALSE(bye.has_header("Contact"));

  auto reinvite = dialog->make_request("INVITE");
  EXPECT_EQ(reinvite.header("CSeq"), "12 INVITE");
  EXPECT_EQ(reinvite.header("Contact"), "<sip:alice@10.0.0.1:5060>");
  EXPECT_EQ(dialog->make_request("ACK").header("CSeq"), "12 ACK");
  EXPECT_EQ(dialog->make_request("INFO").header("CSeq"), "13 INFO");
}

TEST(DialogTest, StrictRouteBecomesRequestUri) {
  auto invite = request("INVITE");
  auto ok = response_to(invite, 200, "bobtag");
  ok.add_header("Record-Route", "<sip:strict.example>");
  ok.add_header("Contact", "<sip:bob@10.0.0.2>");
  auto dialog = Dialog::from_uac(invite, ok);
  ASSERT_TRUE(dialog);
  auto bye = dialog->make_request("BYE");
  EXPECT_EQ(bye.request_uri(), "sip:strict.example");
  EXPECT_EQ(bye.headers_named("Route"), (std::vector<std::string_view>{"<sip:bob@10.0.0.2>"}));
}

TEST(DialogTest, UasDialogFromInvite) {
  auto invite = invite_with_record_route();
  auto dialog = Dialog::from_uas(invite, "mytag", "<sip:agent@10.0.0.2:5060>");
  ASSERT_TRUE(dialog);
  EXPECT_EQ(dialog->role(), Dialog::Role::kUas);
  EXPECT_EQ(dialog->id().local_tag, "mytag");
  EXPECT_EQ(dialog->id().remote_tag, "from1");
  EXPECT_EQ(dialog->remote_cseq(), 10u);
  EXPECT_EQ(dialog->route_set(), (std::vector<std::string>{"<sip:p1.example;lr>", "<sip:p2.example;lr>"}));
  EXPECT_EQ(dialog->remote_target(), "sip:alice@10.0.0.1:5060");
  auto bye = dialog->make_request("BYE");
  EXPECT_EQ(bye.header("From"), "<sip:bob@10.0.0.2>;tag=mytag");
  EXPECT_EQ(bye.header("To"), "<sip:alice@10.0.0.1>;tag=from1");
  EXPECT_EQ(bye.header("CSeq"), "1 BYE");
}

TEST(DialogTest, AcceptsChecksIdAndCSeqOrder) {
  auto invite = request("INVITE", "z9hG4bKinv", 10);
  auto dialog = Dialog::from_uas(invite, "mytag", "<sip:agent@10.0.0.2>");
  ASSERT_TRUE(dialog);
  auto bye = request("BYE", "z9hG4bKbye", 11);
  bye.set_header("To", "<sip:bob@10.0.0.2>;tag=mytag");
  EXPECT_EQ(dialog->accepts(bye), Dialog::Verdict::kAccept);
  EXPECT_EQ(dialog->remote_cseq(), 11u);

  auto old = request("INFO", "z9hG4bKinfo", 5);
  old.set_header("To", "<sip:bob@10.0.0.2>;tag=mytag");
  EXPECT_EQ(dialog->accepts(old), Dialog::Verdict::kCSeqTooLow);

  auto ack = request("ACK", "z9hG4bKack", 10);
  ack.set_header("To", "<sip:bob@10.0.0.2>;tag=mytag");
  EXPECT_EQ(dialog->accepts(ack), Dialog::Verdict::kAccept);

  auto stranger = request("BYE", "z9hG4bKx", 20);
  stranger.set_header("To", "<sip:bob@10.0.0.2>;tag=othertag");
  EXPECT_EQ(dialog->accepts(stranger), Dialog::Verdict::kNotThisDialog);
}

TEST(DialogTest, ReinviteUpdatesRemoteTarget) {
  auto invite = request("INVITE", "z9hG4bKinv", 10);
  auto dialog = Dialog::from_uas(invite, "mytag", "<sip:agent@10.0.0.2>");
  ASSERT_TRUE(dialog);
  auto reinvite = request("INVITE", "z9hG4bKre", 11);
  reinvite.set_header("To", "<sip:bob@10.0.0.2>;tag=mytag");
  reinvite.set_header("Contact", "<sip:alice@192.0.2.7:5062>");
  EXPECT_EQ(dialog->accepts(reinvite), Dialog::Verdict::kAccept);
  EXPECT_EQ(dialog->remote_target(), "sip:alice@192.0.2.7:5062");
}

TEST(DialogTest, SecureWhenRequestUriIsSips) {
  auto invite = request("INVITE");
  invite.set_request_uri("sips:bob@10.0.0.2");
  auto dialog = Dialog::from_uas(invite, "t", "<sips:agent@10.0.0.2>");
  ASSERT_TRUE(dialog);
  EXPECT_TRUE(dialog->secure());
}

TEST(DialogSetTest, FindsDialogForIncomingRequest) {
  DialogSet set;
  auto invite = request("INVITE", "z9hG4bKinv", 10);
  auto dialog = Dialog::from_uas(invite, "mytag", "<sip:agent@10.0.0.2>");
  ASSERT_TRUE(dialog);
  set.put(*dialog);
  EXPECT_EQ(set.size(), 1u);
  auto bye = request("BYE", "z9hG4bKbye", 11);
  bye.set_header("To", "<sip:bob@10.0.0.2>;tag=mytag");
  Dialog* found = set.find_for(bye);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->id(), dialog->id());
  bye.set_header("To", "<sip:bob@10.0.0.2>;tag=nope");
  EXPECT_EQ(set.find_for(bye), nullptr);
  EXPECT_TRUE(set.erase(dialog->id()));
  EXPECT_EQ(set.size(), 0u);
}

TEST(DialogIdTest, TagOfIgnoresUriParameters) {
  EXPECT_EQ(tag_of("\"A;tag=x\" <sip:a@h;tag=uri>;tag=real"), "real");
  EXPECT_EQ(tag_of("sip:a@h;tag=bare"), "bare");
  EXPECT_EQ(tag_of("<sip:a@h>"), "");
}

}  // namespace
}  // namespace vontres::telephony::ua
