#include "users/audit.h"

#include "users/repository.h"

namespace vontres::users {

AuditEvent security_event(std::string type, std::string org_id, std::string actor_id, std::string subject_id,
                          std::string remote_address, std::string outcome, nlohmann::json details) {
  AuditEvent event;
  event.type = std::move(type);
  event.org_id = std::move(org_id);
  event.actor_id = std::move(actor_id);
  event.subject_id = std::move(subject_id);
  event.remote_address = std::move(remote_address);
  event.outcome = std::move(outcome);
  event.details = std::move(details);
  return event;
}

AuditLog::AuditLog(store::Store& store, const Clock& clock, IdGenerator& ids)
    : store_(store), clock_(clock), ids_(ids) {}

void AuditLog::record(AuditEvent event) {
  event.id = ids_.next();
  event.at_ms = clock_.now_unix_ms();
  if (event.outcome.empty()) event.outcome = "success";
  Status stored = repo::insert_audit_event(store_, event);
  log::Fields fields = {{"event.kind", "event"},
                        {"event.category", "authentication"},
                        {"event.action", event.type},
                        {"event.outcome", event.outcome},
                        {"event.id", event.id}};
  if (!event.org_id.empty()) fields.emplace_back("organization.id", event.org_id);
  if (!event.actor_id.empty()) fields.emplace_back("user.id", event.actor_id);
  if (!event.subject_id.empty()) fields.emplace_back("user.target.id", event.subject_id);
  if (!event.remote_address.empty()) fields.emplace_back("source.ip", event.remote_address);
  if (!event.details.empty()) fields.emplace_back("vontres.audit.details", event.details);
  if (event.outcome == "failure") {
    log_.warn("security event", fields);
  } else {
    log_.info("security event", fields);
  }
  if (!stored.is_ok()) {
    log_.error("cannot store audit event", {{"event.id", event.id}, {"error.code", std::string(stored.code())}});
  }
}

}  // namespace vontres::users
