#include "telephony/ua/request_checks.h"

#include "telephony/sip/response.h"
#include "telephony/sip/validate.h"

namespace vontres::telephony::ua {

std::string join_tokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& token : tokens) {
    if (!out.empty()) out += ", ";
    out += token;
  }
  return out;
}

std::optional<sip::Message> check_request(const sip::Message& request, const UasPolicy& policy) {
  sip::RequestChecks checks;
  checks.role = sip::Role::kUserAgentServer;
  checks.implemented_methods = policy.allow;
  checks.supported_extensions = policy.supported;
  checks.accepted_content_types = policy.content_types;
  auto rejection = sip::check_request(request, checks);
  if (!rejection || rejection->response_status == 0) return std::nullopt;
  return sip::make_error_response(request, *rejection);
}

}  // namespace vontres::telephony::ua
