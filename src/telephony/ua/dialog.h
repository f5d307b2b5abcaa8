// SIP dialogs (RFC 3261 12) as values: the state one side of a call keeps between requests
// (Call-ID, tags, CSeq counters, route set, remote target) and the rules that build in-dialog
// requests (12.2.1.1) and check incoming ones (12.2.2). DialogSet maps dialog ids to dialogs.
// Pure: no I/O; the caller sends what make_request() builds through the SipStack.
//
// Thread-safety: value types; not for concurrent mutation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/status.h"
#include "telephony/sip/message.h"

namespace vontres::telephony::ua {

struct DialogId {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  bool operator==(const DialogId&) const = default;
  bool operator<(const DialogId& other) const {
    return std::tie(call_id, local_tag, remote_tag) < std::tie(other.call_id, other.local_tag, other.remote_tag);
  }
  std::string to_string() const;
  // The id of the dialog an incoming request belongs to, seen from the receiver (local tag =
  // To tag, remote tag = From tag). Empty tags when absent.
  static DialogId of_incoming_request(const sip::Message& request);
  // The id seen by the UAC for a response to its request (local = From tag, remote = To tag).
  static DialogId of_response(const sip::Message& response);
};

class Dialog {
 public:
  enum class Role { kUac, kUas };
  enum class Verdict {
    kAccept,         // in order, belongs here; remote CSeq updated
    kCSeqTooLow,     // answer 500 (12.2.2)
    kNotThisDialog,  // answer 481
  };

  // UAC side (12.1.2): from the request it sent and a 2xx (or tagged 1xx, early dialog) response.
  // Errors: invalid_argument "no_to_tag", "bad_dialog_message".
  static Result<Dialog> from_uac(const sip::Message& request, const sip::Message& response);
  // UAS side (12.1.1): from the request received; `local_tag` is the To tag put in the response
  // and `local_contact` the Contact value (e.g. "<sip:agent@10.0.0.1:5060>") it carries.
  static Result<Dialog> from_uas(const sip::Message& request, std::string local_tag, std::string local_contact);

  Role role() const { return role_; }
  const DialogId& id() const { return id_; }
  bool early() const { return early_; }
  bool secure() const { return secure_; }
  uint32_t local_cseq() const { return local_cseq_; }
  std::optional<uint32_t> remote_cseq() const { return remote_cseq_; }
  const std::vector<std::string>& route_set() const { return route_set_; }  // Route values, in order
  const std::string& remote_target() const { return remote_target_; }       // a URI
  const std::string& local_uri() const { return local_uri_; }               // From value (with tag)
  const std::string& remote_uri() const { return remote_uri_; }             // To value (with tag)

  // An in-dialog request (12.2.1.1): Request-URI and Route from the remote target and route set
  // (loose or strict routing), From/To with tags, Call-ID, CSeq = ++local for new requests,
  // the last INVITE's number for ACK (2xx ACK) and CANCEL. Adds Max-Forwards and, for
  // target-refresh requests (INVITE, UPDATE...), the local Contact. No Via: the stack adds it.
  sip::Message make_request(std::string_view method);

  // The URI the request must be sent to (first Route if any, else the remote target); resolve it
  // with the SipStack's destination helper.
  std::string next_hop() const;

  // Checks an incoming request (12.2.2): matching id and CSeq order. ACK and CANCEL are not
  // ordered (they reuse the INVITE's number).
  Verdict accepts(const sip::Message& request);

  // A 2xx to a target refresh, or a re-INVITE received, updates the remote target (12.2).
  void update_remote_target(const sip::Message& message);
  // An early dialog confirmed by the 2xx.
  void confirm(const sip::Message& response_2xx);

 private:
  Role role_ = Role::kUac;
  DialogId id_;
  bool early_ = false;
  bool secure_ = false;
  uint32_t local_cseq_ = 0;
  uint32_t invite_cseq_ = 0;
  std::optional<uint32_t> remote_cseq_;
  std::vector<std::string> route_set_;
  std::string remote_target_;
  std::string local_uri_;
  std::string remote_uri_;
  std::string local_contact_;
};

class DialogSet {
 public:
  // Inserts or replaces.
  Dialog& put(Dialog dialog);
  Dialog* find(const DialogId& id);
  // The dialog an incoming request belongs to (by Call-ID, To tag, From tag).
  Dialog* find_for(const sip::Message& request);
  bool erase(const DialogId& id);
  size_t size() const { return dialogs_.size(); }

 private:
  std::map<DialogId, Dialog> dialogs_;
};

}  // namespace vontres::telephony::ua
