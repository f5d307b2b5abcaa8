// CallRecords: the system-of-record rows of calls (the `calls` table), written from a call's first
// second. The call host writes a call's row when the call starts and again at every phase change
// (queued, ringing, answered, transferred, ended), so a call exists in the Store while it lasts,
// not only after it ended, and a node that dies leaves rows a sweeper can close.
//
// Exactly one end per call: a row that has ended is never rewritten. Whichever end is written
// first wins (the owner's own hang-up, or a sweeper's `node_lost` after the owner's heartbeat
// lapsed), and the loser learns it from the result, so nothing is counted twice when a presumed
// dead owner comes back.
//
// Thread-safety: as the Store's (every method may be called from any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"
#include "telephony/call/call_flow.h"

namespace vontres::telephony {

class CallRecords {
 public:
  CallRecords(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The `calls` table (telephony v1) and its owner column (telephony v3).
  static std::vector<store::Migration> migrations();

  // Writes `call`'s row as held by node `owner`; `media` is the call's media counters (may be
  // an empty object). Returns false, changing nothing, if the row had already ended.
  Result<bool> write(const CallSnapshot& call, const nlohmann::json& media, std::string_view owner);

  struct OpenCall {
    std::string id;
    std::string org;
    std::string owner;  // node id; empty for rows written before owners were recorded
    nlohmann::json record;
  };
  // Calls whose rows have not ended, oldest first, of one owner (or of every owner when empty).
  Result<std::vector<OpenCall>> open_calls(std::string_view owner = {}, int64_t limit = 10'000);
  // The open records of `org` (live calls on any node), oldest first.
  Result<std::vector<OpenCall>> open_calls_of_org(const std::string& org, int64_t limit = 10'000);
  // The distinct owners of calls that have not ended.
  Result<std::vector<std::string>> open_call_owners();

  // Ends an open row with reason "node_lost" now. Returns the ended record, or nullopt if the row
  // had already ended (someone else closed it first) or does not exist.
  Result<std::optional<nlohmann::json>> close_lost(const std::string& call_id);

  // Ended and live call records of `org`, newest first.
  Result<nlohmann::json> history(const std::string& org, int64_t limit);
  // One record of `org`, live or ended; not_found "call_not_found" if there is none.
  Result<nlohmann::json> find(const std::string& org, const std::string& call_id);

 private:
  store::Store& store_;
  const Clock& clock_;
};

}  // namespace vontres::telephony
