// Phone numbers: which organisation, and which of its queues, a dialled number (the Request-URI
// user part of an inbound INVITE) belongs to. Numbers are global (a trunk's INVITE carries no
// organisation), so a number has exactly one owner; an organisation manages its own numbers
// through PUT/GET/DELETE /api/v1/numbers/{number} (permission queues.write / queues.read), and
// another organisation's number answers 409 "number_taken" on PUT and 404 everywhere else.
//
// NumberDirectory keeps the table `phone_numbers` (component "telephony_numbers") in the Store and
// a copy in memory, so resolving a number on the SIP path never waits for the Store.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace vontres::telephony {

struct PhoneNumber {
  std::string number;  // E.164 digits with an optional leading '+', or an extension: [+]?[0-9*#]{1,32}
  OrgId org;
  QueueId queue;  // the queue its calls go to, skipping the IVR
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// Errors: invalid_argument "invalid_number".
Status validate_number(std::string_view number);

class NumberDirectory {
 public:
  // `store` and `clock` must outlive the directory.
  NumberDirectory(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  static std::vector<store::Migration> migrations();
  // Loads the table into memory; call once after the migrations, before serving.
  Status load();

  // The owner of a dialled number, from memory.
  std::optional<PhoneNumber> resolve(std::string_view number) const;

  // Creates or updates `number` for `org`. Returns true when created. Errors: "invalid_number",
  // "number_taken" (another organisation owns it), Store errors.
  Result<bool> put(const OrgId& org, std::string_view number, const QueueId& queue);
  // Errors: "number_not_found" (also for another organisation's number).
  Status remove(const OrgId& org, std::string_view number);
  std::vector<PhoneNumber> list(const OrgId& org) const;

  // The routes above. `queue_exists(org, queue)` checks a queue against the ACD.
  using QueueCheck = std::function<bool(const OrgId&, const QueueId&)>;
  void register_routes(api::Router& router, QueueCheck queue_exists);

 private:
  store::Store& store_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, PhoneNumber, std::less<>> numbers_;  // GUARDED_BY(mu_)
};

}  // namespace vontres::telephony
