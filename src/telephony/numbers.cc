#include "telephony/numbers.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/log.h"

namespace vontres::telephony {
namespace {

using nlohmann::json;

constexpr size_t kMaxNumberLength = 32;
constexpr size_t kMaxQueueIdLength = 128;

json to_json(const PhoneNumber& n) {
  const auto at = [](int64_t ms) { return format_rfc3339(TimePoint(std::chrono::milliseconds(ms))); };
  return {{"number", n.number},
          {"queue_id", n.queue.str()},
          {"created_at", at(n.created_at_ms)},
          {"updated_at", at(n.updated_at_ms)}};
}

const log::Logger& logger() {
  static const log::Logger kLogger("telephony.numbers");
  return kLogger;
}

}  // namespace

Status validate_number(std::string_view number) {
  std::string_view digits = number;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  const bool ok =
      !digits.empty() && number.size() <= kMaxNumberLength &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#'; });
  if (!ok) return invalid_argument("number must be an optional '+' and 1-31 of 0-9 * #", "invalid_number");
  return Status::ok();
}

std::vector<store::Migration> NumberDirectory::migrations() {
  return {{"telephony_numbers", 1, "phone numbers owned by organisations",
           "CREATE TABLE phone_numbers (number TEXT PRIMARY KEY, org_id TEXT NOT NULL, queue_id TEXT NOT NULL, "
           "created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL);"
           "CREATE INDEX phone_numbers_by_org ON phone_numbers (org_id, number)"}};
}

Status NumberDirectory::load() {
  VONTRES_ASSIGN_OR_RETURN(
      store::Rows rows,
      store_.query("SELECT number, org_id, queue_id, created_at_ms, updated_at_ms FROM phone_numbers"));
  std::map<std::string, PhoneNumber, std::less<>> loaded;
  for (const auto& row : rows.rows) {
    PhoneNumber n{row.get_string(0), OrgId(row.get_string(1)), QueueId(row.get_string(2)), row.get_int(3),
                  row.get_int(4)};
    loaded.emplace(n.number, std::move(n));
  }
  std::lock_guard lock(mu_);
  numbers_ = std::move(loaded);
  return Status::ok();
}

std::optional<PhoneNumber> NumberDirectory::resolve(std::string_view number) const {
  std::lock_guard lock(mu_);
  auto it = numbers_.find(number);
  if (it == numbers_.end()) return std::nullopt;
  return it->second;
}

Result<bool> NumberDirectory::put(const OrgId& org, std::string_view number, const QueueId& queue) {
  VONTRES_RETURN_IF_ERROR(validate_number(number));
  const int64_t now = clock_.now_unix_ms();
  // One writer at a time keeps the memory copy equal to the table.
  std::lock_guard lock(mu_);
  auto existing = numbers_.find(number);
  if (existing != numbers_.end() && existing->second.org != org) {
    return already_exists("number " + std::string(number) + " belongs to another organisation", "number_taken");
  }
  const bool created = existing == numbers_.end();
  PhoneNumber n{std::string(number), org, queue, created ? now : existing->second.created_at_ms, now};
  VONTRES_RETURN_IF_ERROR(
      store_
          .execute("INSERT INTO phone_numbers (number, org_id, queue_id, created_at_ms, updated_at_ms) "
                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO UPDATE SET queue_id = excluded.queue_id, "
                   "updated_at_ms = excluded.updated_at_ms WHERE phone_numbers.org_id = excluded.org_id",
                   {n.number, org.str(), queue.str(), n.created_at_ms, now})
          .status());
  numbers_[n.number] = n;
  return created;
}

Status NumberDirectory::remove(const OrgId& org, std::string_view number) {
  std::lock_guard lock(mu_);
  auto it = numbers_.find(number);
  if (it == numbers_.end() || it->second.org != org) {
    return not_found("no number " + std::string(number), "number_not_found");
  }
  VONTRES_RETURN_IF_ERROR(
      store_.execute("DELETE FROM phone_numbers WHERE org_id = $1 AND number = $2", {org.str(), std::string(number)})
          .status());
  numbers_.erase(it);
  return Status::ok();
}

std::vector<PhoneNumber> NumberDirectory::list(const OrgId& org) const {
  std::lock_guard lock(mu_);
  std::vector<PhoneNumber> out;
  for (const auto& [number, n] : numbers_) {
    if (n.org == org) out.push_back(n);
  }
  return out;
}

void NumberDirectory::register_routes(api::Router& router, QueueCheck queue_exists) {
  using api::Method;
  using api::Request;
  using api::Response;
  auto opts = [](std::string permission, std::string summary) {
    return api::route_options("telephony", std::move(permission), std::move(summary));
  };
  router.add(Method::kGet, "/api/v1/numbers", opts("queues.read", "The organisation's phone numbers"),
             [this](Request& req) {
               json out = json::array();
               for (const auto& n : list(OrgId(req.principal->org_id))) out.push_back(to_json(n));
               return Response::json(200, {{"numbers", out}});
             });
  router.add(Method::kGet, "/api/v1/numbers/{number}", opts("queues.read", "One phone number"), [this](Request& req) {
    auto n = resolve(req.path_params.at("number"));
    if (!n || n->org.str() != req.principal->org_id) {
      return Response::error(not_found("no number " + req.path_params.at("number"), "number_not_found"));
    }
    return Response::json(200, to_json(*n));
  });
  router.add(
      Method::kPut, "/api/v1/numbers/{number}",
      opts("queues.write", "Claim a phone number for one of the organisation's queues ({queue_id})"),
      [this, queue_exists = std::move(queue_exists)](Request& req) {
        const OrgId org(req.principal->org_id);
        const std::string& number = req.path_params.at("number");
        if (Status valid = validate_number(number); !valid.is_ok()) return Response::error(valid);
        auto body = req.json_body();
        if (!body.is_ok()) return Response::error(body.status());
        const auto queue = body->is_object() ? body->find("queue_id") : body->end();
        if (queue == body->end() || !queue->is_string() || queue->get_ref<const std::string&>().empty() ||
            queue->get_ref<const std::string&>().size() > kMaxQueueIdLength) {
          return Response::error(invalid_argument("queue_id must be a non-empty string (max 128)", "invalid_number"));
        }
        const QueueId queue_id(queue->get<std::string>());
        if (!queue_exists(org, queue_id)) {
          return Response::error(not_found("queue " + queue_id.str() + " not found", "queue_not_found"));
        }
        auto created = put(org, number, queue_id);
        if (!created.is_ok()) return Response::error(created.status());
        logger().info(
            *created ? "number claimed" : "number updated",
            {{"organization.id", org.str()}, {"vontres.number", number}, {"vontres.queue.id", queue_id.str()}});
        auto stored = resolve(number);
        return Response::json(*created ? 201 : 200, to_json(*stored));
      });
  router.set_body_schema(
      Method::kPut, "/api/v1/numbers/{number}",
      {{"type", "object"},
       {"properties", {{"queue_id", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxQueueIdLength}}}}},
       {"required", {"queue_id"}},
       {"additionalProperties", false}});
  router.add(Method::kDelete, "/api/v1/numbers/{number}", opts("queues.write", "Release a phone number"),
             [this](Request& req) {
               Status removed = remove(OrgId(req.principal->org_id), req.path_params.at("number"));
               if (!removed.is_ok()) return Response::error(removed);
               logger().info("number released", {{"organization.id", req.principal->org_id},
                                                 {"vontres.number", req.path_params.at("number")}});
               return Response::no_content();
             });
}

}  // namespace vontres::telephony
