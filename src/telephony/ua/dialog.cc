#include "telephony/ua/dialog.h"

#include <algorithm>
#include <utility>

#include "telephony/ua/types.h"

namespace vontres::telephony::ua {
namespace {

// The URI inside a name-addr ("Bob <sip:b@h;lr>;tag=x" -> "sip:b@h;lr") or an addr-spec.
std::string uri_of(std::string_view value) {
  auto open = value.find('<');
  if (open != std::string_view::npos) {
    auto close = value.find('>', open);
    return std::string(
        value.substr(open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1));
  }
  auto semi = value.find(';');
  std::string_view uri = value.substr(0, semi);
  while (!uri.empty() && uri.back() == ' ') uri.remove_suffix(1);
  while (!uri.empty() && uri.front() == ' ') uri.remove_prefix(1);
  return std::string(uri);
}

bool has_lr(std::string_view uri) {
  // ";lr" as a URI parameter (before any '?headers').
  std::string_view params = uri.substr(0, uri.find('?'));
  size_t pos = 0;
  while ((pos = params.find(';', pos)) != std::string_view::npos) {
    ++pos;
    auto end = params.find_first_of(";=", pos);
    std::string_view name = params.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (name.size() == 2 && (name[0] == 'l' || name[0] == 'L') && (name[1] == 'r' || name[1] == 'R')) return true;
  }
  return false;
}

std::optional<uint32_t> cseq_number(const sip::Message& message, std::string* method = nullptr) {
  auto text = message.header("CSeq");
  if (!text) return std::nullopt;
  auto cseq = sip::parse_cseq(*text);
  if (!cseq) return std::nullopt;
  if (method) *method = cseq->method;
  return cseq->sequence;
}

bool is_target_refresh(std::string_view method) {
  return method == "INVITE" || method == "UPDATE" || method == "SUBSCRIBE" || method == "NOTIFY" || method == "REFER";
}

}  // namespace

std::string DialogId::to_string() const { return call_id + ";" + local_tag + ";" + remote_tag; }

DialogId DialogId::of_incoming_request(const sip::Message& request) {
  return DialogId{std::string(request.header("Call-ID").value_or("")), tag_of(request.header("To").value_or("")),
                  tag_of(request.header("From").value_or(""))};
}

DialogId DialogId::of_response(const sip::Message& response) {
  return DialogId{std::string(response.header("Call-ID").value_or("")), tag_of(response.header("From").value_or("")),
                  tag_of(response.header("To").value_or(""))};
}

Result<Dialog> Dialog::from_uac(const sip::Message& request, const sip::Message& response) {
  if (!request.is_request() || !response.is_response() || response.status() >= 300) {
    return invalid_argument("a UAC dialog needs the request and a 1xx/2xx response", "bad_dialog_message");
  }
  auto number = cseq_number(request);
  auto call_id = request.header("Call-ID");
  auto from = request.header("From");
  auto to = response.header("To");
  if (!number || !call_id || !from || !to) {
    return invalid_argument("request/response lacks CSeq, Call-ID, From or To", "bad_dialog_message");
  }
  Dialog dialog;
  dialog.role_ = Role::kUac;
  dialog.id_ = DialogId::of_response(response);
  if (dialog.id_.remote_tag.empty()) return invalid_argument("response has no To tag", "no_to_tag");
  dialog.early_ = response.status() < 200;
  dialog.secure_ = request.request_uri().starts_with("sips:");
  dialog.local_cseq_ = *number;
  dialog.invite_cseq_ = *number;
  auto record_route = response.headers_named("Record-Route");
  for (auto it = record_route.rbegin(); it != record_route.rend(); ++it) dialog.route_set_.emplace_back(*it);
  if (auto contact = response.header("Contact")) {
    dialog.remote_target_ = uri_of(*contact);
  } else {
    dialog.remote_target_ = request.request_uri();
  }
  dialog.local_uri_ = std::string(*from);
  dialog.remote_uri_ = std::string(*to);
  if (auto contact = request.header("Contact")) dialog.local_contact_ = std::string(*contact);
  return dialog;
}

Result<Dialog> Dialog::from_uas(const sip::Message& request, std::string local_tag, std::string local_contact) {
  auto number = cseq_number(request);
  auto call_id = request.header("Call-ID");
  auto from = request.header("From");
  auto to = request.header("To");
  if (!request.is_request() || !number || !call_id || !from || !to || local_tag.empty()) {
    return invalid_argument("request lacks CSeq, Call-ID, From, To or a local tag", "bad_dialog_message");
  }
  Dialog dialog;
  dialog.role_ = Role::kUas;
  dialog.id_ = DialogId{std::string(*call_id), std::move(local_tag), tag_of(*from)};
  dialog.secure_ = request.request_uri().starts_with("sips:");
  dialog.remote_cseq_ = *number;
  dialog.invite_cseq_ = *number;
  for (auto route : request.headers_named("Record-Route")) dialog.route_set_.emplace_back(route);
  if (auto contact = request.header("Contact")) dialog.remote_target_ = uri_of(*contact);
  dialog.remote_uri_ = std::string(*from);
  dialog.local_uri_ = std::string(*to);
  if (tag_of(dialog.local_uri_).empty()) dialog.local_uri_ += ";tag=" + dialog.id_.local_tag;
  dialog.local_contact_ = std::move(local_contact);
  return dialog;
}

sip::Message Dialog::make_request(std::string_view method) {
  std::string request_uri = remote_target_;
  std::vector<std::string> routes = route_set_;
  if (!routes.empty() && !has_lr(uri_of(routes.front()))) {
    // Strict routing (12.2.1.1): the first route becomes the Request-URI, the target goes last.
    request_uri = uri_of(routes.front());
    routes.erase(routes.begin());
    routes.push_back("<" + remote_target_ + ">");
  }
  sip::Message request = sip::Message::request(std::string(method), request_uri);
  for (auto& route : routes) request.add_header("Route", std::move(route));
  request.add_header("Max-Forwards", "70");
  request.add_header("From", local_uri_);
  request.add_header("To", remote_uri_);
  request.add_header("Call-ID", id_.call_id);
  uint32_t number = 0;
  if (method == "ACK" || method == "CANCEL") {
    number = invite_cseq_;
  } else {
    number = ++local_cseq_;
    if (method == "INVITE") invite_cseq_ = number;
  }
  request.add_header("CSeq", std::to_string(number) + " " + std::string(method));
  if (is_target_refresh(method) && !local_contact_.empty()) request.add_header("Contact", local_contact_);
  return request;
}

std::string Dialog::next_hop() const { return route_set_.empty() ? remote_target_ : uri_of(route_set_.front()); }

Dialog::Verdict Dialog::accepts(const sip::Message& request) {
  if (DialogId::of_incoming_request(request) != id_) return Verdict::kNotThisDialog;
  std::string method;
  auto number = cseq_number(request, &method);
  if (!number) return Verdict::kCSeqTooLow;
  if (request.method() == "ACK" || request.method() == "CANCEL") return Verdict::kAccept;
  if (remote_cseq_ && *number <= *remote_cseq_) {
    // Equal is a retransmission the transaction layer absorbs; a new request must be higher.
    return Verdict::kCSeqTooLow;
  }
  remote_cseq_ = *number;
  if (request.method() == "INVITE") invite_cseq_ = std::max(invite_cseq_, *number);
  if (is_target_refresh(request.method())) update_remote_target(request);
  return Verdict::kAccept;
}

void Dialog::update_remote_target(const sip::Message& message) {
  if (auto contact = message.header("Contact")) remote_target_ = uri_of(*contact);
}

void Dialog::confirm(const sip::Message& response_2xx) {
  early_ = false;
  update_remote_target(response_2xx);
  if (role_ == Role::kUac) {
    // The route set is fixed by the 2xx (12.1.2), replacing the early dialog's one.
    auto record_route = response_2xx.headers_named("Record-Route");
    route_set_.clear();
    for (auto it = record_route.rbegin(); it != record_route.rend(); ++it) route_set_.emplace_back(*it);
  }
}

Dialog& DialogSet::put(Dialog dialog) {
  DialogId id = dialog.id();
  auto [it, inserted] = dialogs_.insert_or_assign(std::move(id), std::move(dialog));
  return it->second;
}

Dialog* DialogSet::find(const DialogId& id) {
  auto found = dialogs_.find(id);
  return found == dialogs_.end() ? nullptr : &found->second;
}

Dialog* DialogSet::find_for(const sip::Message& request) { return find(DialogId::of_incoming_request(request)); }

bool DialogSet::erase(const DialogId& id) { return dialogs_.erase(id) > 0; }

}  // namespace vontres::telephony::ua
