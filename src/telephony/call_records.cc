#include "telephony/call_records.h"

namespace vontres::telephony {

namespace {

using nlohmann::json;

int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

store::Value optional_ms(const std::optional<TimePoint>& t) {
  return t ? store::Value(to_ms(*t)) : store::Value(std::monostate{});
}

store::Value optional_text(std::string_view text) {
  return text.empty() ? store::Value(std::monostate{}) : store::Value(std::string(text));
}

json parse_record(const std::string& text) {
  json record = json::parse(text, nullptr, false);
  return record.is_discarded() ? json::object() : record;
}

// Rows of "SELECT id, org_id, owner_node, record FROM calls ...".
std::vector<CallRecords::OpenCall> open_calls_of_rows(const store::Rows& rows) {
  std::vector<CallRecords::OpenCall> out;
  out.reserve(rows.size());
  for (const auto& row : rows.rows) {
    out.push_back({row.get_string(0), row.get_string(1), row.get_string(2), parse_record(row.get_string(3))});
  }
  return out;
}

}  // namespace

std::vector<store::Migration> CallRecords::migrations() {
  return {{"telephony", 1, "call records",
           "CREATE TABLE calls (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, sip_call_id TEXT, direction TEXT, "
           "from_uri TEXT, to_uri TEXT, dialled TEXT, queue_id TEXT, intent TEXT, agent_id TEXT, "
           "started_at_ms BIGINT NOT NULL, queued_at_ms BIGINT, answered_at_ms BIGINT, ended_at_ms BIGINT, "
           "end_reason TEXT, agent_attempts INTEGER, record TEXT NOT NULL);"
           "CREATE INDEX calls_by_org_time ON calls (org_id, started_at_ms)"},
          {"telephony", 2, "call records from the first second: owner node, open calls by owner",
           "ALTER TABLE calls ADD COLUMN owner_node TEXT;"
           "ALTER TABLE calls ADD COLUMN updated_at_ms BIGINT;"
           "CREATE INDEX calls_open_by_owner ON calls (owner_node, started_at_ms) WHERE ended_at_ms IS NULL"}};
}

Result<bool> CallRecords::write(const CallSnapshot& call, const json& media, std::string_view owner) {
  json record = call.to_json();
  record["media"] = media;
  record["owner_node"] = std::string(owner);
  // The conflict branch applies only while the stored row is open: an ended row is final.
  VONTRES_ASSIGN_OR_RETURN(
      int64_t changed,
      store_.execute(
          "INSERT INTO calls (id, org_id, sip_call_id, direction, from_uri, to_uri, dialled, queue_id, intent, "
          "agent_id, started_at_ms, queued_at_ms, answered_at_ms, ended_at_ms, end_reason, agent_attempts, record, "
          "owner_node, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
          "$17, $18, $19) ON CONFLICT (id) DO UPDATE SET queue_id = excluded.queue_id, intent = excluded.intent, "
          "agent_id = excluded.agent_id, queued_at_ms = excluded.queued_at_ms, answered_at_ms = "
          "excluded.answered_at_ms, ended_at_ms = excluded.ended_at_ms, end_reason = excluded.end_reason, "
          "agent_attempts = excluded.agent_attempts, record = excluded.record, owner_node = excluded.owner_node, "
          "updated_at_ms = excluded.updated_at_ms WHERE calls.ended_at_ms IS NULL",
          {call.id.str(), call.org.str(), call.sip_call_id,
           std::string(call.direction == CallDirection::kInbound ? "inbound" : "outbound"), call.from, call.to,
           call.dialled, call.queue.str(), call.intent, call.agent.str(), to_ms(call.started_at),
           optional_ms(call.queued_at), optional_ms(call.agent_answered_at), optional_ms(call.ended_at),
           call.end_reason ? store::Value(std::string(end_reason_name(*call.end_reason))) : store::Value{},
           static_cast<int64_t>(call.agent_attempts), record.dump(), optional_text(owner), clock_.now_unix_ms()}));
  return changed > 0;
}

Result<std::vector<CallRecords::OpenCall>> CallRecords::open_calls(std::string_view owner, int64_t limit) {
  store::Rows rows;
  if (owner.empty()) {
    VONTRES_ASSIGN_OR_RETURN(rows, store_.query("SELECT id, org_id, owner_node, record FROM calls WHERE ended_at_ms "
                                                "IS NULL ORDER BY started_at_ms LIMIT $1",
                                                {limit}));
  } else {
    VONTRES_ASSIGN_OR_RETURN(rows, store_.query("SELECT id, org_id, owner_node, record FROM calls WHERE ended_at_ms "
                                                "IS NULL AND owner_node = $1 ORDER BY started_at_ms LIMIT $2",
                                                {std::string(owner), limit}));
  }
  return open_calls_of_rows(rows);
}

Result<std::vector<CallRecords::OpenCall>> CallRecords::open_calls_of_org(const std::string& org, int64_t limit) {
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           store_.query("SELECT id, org_id, owner_node, record FROM calls WHERE "
                                        "ended_at_ms IS NULL AND org_id = $1 ORDER BY started_at_ms LIMIT $2",
                                        {org, limit}));
  return open_calls_of_rows(rows);
}

Result<std::vector<std::string>> CallRecords::open_call_owners() {
  VONTRES_ASSIGN_OR_RETURN(auto rows, store_.query("SELECT DISTINCT owner_node FROM calls WHERE ended_at_ms IS NULL "
                                                   "AND owner_node IS NOT NULL"));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& row : rows.rows) out.push_back(row.get_string(0));
  return out;
}

Result<std::optional<json>> CallRecords::close_lost(const std::string& call_id) {
  std::optional<json> closed;
  VONTRES_RETURN_IF_ERROR(store_.transaction([&](store::Session& session) -> Status {
    VONTRES_ASSIGN_OR_RETURN(
        auto rows, session.query("SELECT record FROM calls WHERE id = $1 AND ended_at_ms IS NULL", {call_id}));
    if (rows.empty()) return Status::ok();
    json record = parse_record(rows[0].get_string(0));
    const TimePoint now = clock_.now();
    record["phase"] = "ended";
    record["ended_at"] = format_rfc3339(now);
    record["end_reason"] = "node_lost";
    if (record.contains("events") && record["events"].is_array()) record["events"].push_back("call.ended");
    VONTRES_ASSIGN_OR_RETURN(
        int64_t changed,
        session.execute("UPDATE calls SET ended_at_ms = $2, end_reason = 'node_lost', record = $3, updated_at_ms = $2 "
                        "WHERE id = $1 AND ended_at_ms IS NULL",
                        {call_id, to_ms(now), record.dump()}));
    if (changed > 0) closed = std::move(record);
    return Status::ok();
  }));
  return closed;
}

Result<json> CallRecords::history(const std::string& org, int64_t limit) {
  VONTRES_ASSIGN_OR_RETURN(auto rows, store_.query("SELECT record FROM calls WHERE org_id = $1 "
                                                   "ORDER BY started_at_ms DESC LIMIT $2",
                                                   {org, limit}));
  json out = json::array();
  for (const auto& row : rows.rows) out.push_back(parse_record(row.get_string(0)));
  return out;
}

Result<json> CallRecords::find(const std::string& org, const std::string& call_id) {
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           store_.query("SELECT record FROM calls WHERE org_id = $1 AND id = $2", {org, call_id}));
  if (rows.empty()) return not_found("no call " + call_id, "call_not_found");
  return parse_record(rows[0].get_string(0));
}

}  // namespace vontres::telephony
