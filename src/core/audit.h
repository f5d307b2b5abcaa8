// The audit trail as other services see it: a narrow sink for security-relevant changes made
// through their APIs (knowledge articles, phone numbers, SIP accounts, ...). The users service
// implements it on its audit log (stored, listed by GET /api/v1/audit, and logged as ECS lines);
// services get it injected and never depend on the users service.
//
// Thread-safety: record() may be called from any thread. It never fails the caller's request: a
// sink that cannot store the record logs the failure.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vontres {

struct AuditRecord {
  std::string action;     // e.g. "knowledge_article_saved"
  std::string org_id;     // the organisation whose data changed
  std::string actor_id;   // the principal's subject
  std::string target_id;  // what changed (article id, number, SIP user name)
  std::string remote_address;
  std::string outcome = "success";
  nlohmann::json details = nlohmann::json::object();  // never secrets
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void record(AuditRecord record) = 0;
};

}  // namespace vontres
