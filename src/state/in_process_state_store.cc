#include "state/in_process_state_store.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <charconv>

namespace vontres::state {

struct InProcessStateStore::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : keys(prometheus::BuildGauge()
                 .Name("vontres_state_keys")
                 .Help("Live keys (plain and hash) in the state store")
                 .Register(registry)
                 .Add({{"backend", "in_process"}})),
        expired(prometheus::BuildCounter()
                    .Name("vontres_state_expired_total")
                    .Help("State keys removed because their TTL passed")
                    .Register(registry)
                    .Add({{"backend", "in_process"}})),
        leases(prometheus::BuildCounter()
                   .Name("vontres_state_lease_acquisitions_total")
                   .Help("Lease acquisition attempts, by result")
                   .Register(registry)),
        acquired(leases.Add({{"backend", "in_process"}, {"result", "acquired"}})),
        renewed(leases.Add({{"backend", "in_process"}, {"result", "renewed"}})),
        refused(leases.Add({{"backend", "in_process"}, {"result", "refused"}})) {}

  prometheus::Gauge& keys;
  prometheus::Counter& expired;
  prometheus::Family<prometheus::Counter>& leases;
  prometheus::Counter& acquired;
  prometheus::Counter& renewed;
  prometheus::Counter& refused;
};

namespace {

Status invalid_ttl() { return invalid_argument("state ttl must be positive", "state_invalid_ttl"); }

Status wrong_type(std::string_view key, std::string_view wanted) {
  return failed_precondition("state key '" + std::string(key) + "' does not hold a " + std::string(wanted),
                             "state_wrong_type");
}

Result<std::optional<TimePoint>> expiry_from(Ttl ttl, TimePoint now) {
  if (!ttl) return std::optional<TimePoint>();
  if (ttl->count() <= 0) return invalid_ttl();
  return std::optional<TimePoint>(now + std::chrono::duration_cast<Duration>(*ttl));
}

std::optional<int64_t> parse_integer(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

int64_t unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

InProcessStateStore::InProcessStateStore(const Clock& clock, prometheus::Registry* registry) : clock_(clock) {
  if (registry == nullptr) {
    own_registry_ = std::make_unique<prometheus::Registry>();
    registry = own_registry_.get();
  }
  metrics_ = std::make_unique<Metrics>(*registry);
}

InProcessStateStore::~InProcessStateStore() {
  // The gauge may be shared with other stores through the registry; give back what we count.
  std::lock_guard lock(mutex_);
  metrics_->keys.Decrement(static_cast<double>(entries_.size()));
}

void InProcessStateStore::remove(Map::iterator it, bool expired) {
  if (it->second.expiry) expiries_.erase(*it->second.expiry);
  entries_.erase(it);
  metrics_->keys.Decrement();
  if (expired) metrics_->expired.Increment();
}

void InProcessStateStore::set_expiry(Map::iterator it, std::optional<TimePoint> expires_at) {
  if (it->second.expiry) {
    expiries_.erase(*it->second.expiry);
    it->second.expiry.reset();
  }
  if (expires_at) it->second.expiry = expiries_.emplace(*expires_at, it->first);
}

void InProcessStateStore::drop_expired(TimePoint now) {
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    auto found = entries_.find(expiries_.begin()->second);
    remove(found, /*expired=*/true);  // every index entry belongs to a live map entry
  }
}

InProcessStateStore::Entry* InProcessStateStore::find_live(std::string_view key, TimePoint now) {
  auto found = entries_.find(std::string(key));
  if (found == entries_.end()) return nullptr;
  if (found->second.expiry && (*found->second.expiry)->first <= now) {
    remove(found, /*expired=*/true);
    return nullptr;
  }
  return &found->second;
}

void InProcessStateStore::put_string(std::string_view key, std::string_view value,
                                     std::optional<TimePoint> expires_at) {
  auto [it, inserted] = entries_.try_emplace(std::string(key));
  if (inserted) metrics_->keys.Increment();
  it->second.value = std::string(value);
  set_expiry(it, expires_at);
}

Result<std::optional<std::string>> InProcessStateStore::get(std::string_view key) {
  std::lock_guard lock(mutex_);
  Entry* entry = find_live(key, clock_.now());
  if (entry == nullptr) return std::optional<std::string>();
  const auto* text = std::get_if<std::string>(&entry->value);
  if (text == nullptr) return wrong_type(key, "plain value");
  return std::optional<std::string>(*text);
}

Status InProcessStateStore::set(std::string_view key, std::string_view value, Ttl ttl) {
  const TimePoint now = clock_.now();
  VONTRES_ASSIGN_OR_RETURN(auto expires_at, expiry_from(ttl, now));
  std::lock_guard lock(mutex_);
  drop_expired(now);
  put_string(key, value, expires_at);
  return Status::ok();
}

Result<bool> InProcessStateStore::erase(std::string_view key) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  drop_expired(now);
  auto found = entries_.find(std::string(key));
  if (found == entries_.end()) return false;
  remove(found, /*expired=*/false);
  return true;
}

Result<bool> InProcessStateStore::compare_and_set(std::string_view key, const std::optional<std::string>& expected,
                                                  std::string_view value, Ttl ttl) {
  const TimePoint now = clock_.now();
  VONTRES_ASSIGN_OR_RETURN(auto expires_at, expiry_from(ttl, now));
  std::lock_guard lock(mutex_);
  drop_expired(now);
  Entry* entry = find_live(key, now);
  if (entry == nullptr) {
    if (expected) return false;
  } else {
    const auto* text = std::get_if<std::string>(&entry->value);
    if (text == nullptr) return wrong_type(key, "plain value");
    if (!expected || *expected != *text) return false;
  }
  put_string(key, value, expires_at);
  return true;
}

Result<int64_t> InProcessStateStore::increment(std::string_view key, int64_t delta, Ttl ttl_if_created) {
  const TimePoint now = clock_.now();
  VONTRES_ASSIGN_OR_RETURN(auto expires_at, expiry_from(ttl_if_created, now));
  std::lock_guard lock(mutex_);
  drop_expired(now);
  Entry* entry = find_live(key, now);
  int64_t current = 0;
  if (entry != nullptr) {
    const auto* text = std::get_if<std::string>(&entry->value);
    if (text == nullptr) return wrong_type(key, "plain value");
    auto parsed = parse_integer(*text);
    if (!parsed)
      return failed_precondition("state key '" + std::string(key) + "' is not an integer", "state_not_integer");
    current = *parsed;
  }
  int64_t next = 0;
  if (__builtin_add_overflow(current, delta, &next)) {
    return failed_precondition("increment of state key '" + std::string(key) + "' would overflow", "state_error");
  }
  if (entry != nullptr) {
    entry->value = std::to_string(next);  // keeps the key's expiry
  } else {
    put_string(key, std::to_string(next), expires_at);
  }
  return next;
}

Result<bool> InProcessStateStore::set_ttl(std::string_view key, Ttl ttl) {
  const TimePoint now = clock_.now();
  VONTRES_ASSIGN_OR_RETURN(auto expires_at, expiry_from(ttl, now));
  std::lock_guard lock(mutex_);
  drop_expired(now);
  auto found = entries_.find(std::string(key));
  if (found == entries_.end()) return false;
  set_expiry(found, expires_at);
  return true;
}

Status InProcessStateStore::hash_set(std::string_view key, std::string_view field, std::string_view value) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  drop_expired(now);
  auto [it, inserted] = entries_.try_emplace(std::string(key));
  if (inserted) {
    metrics_->keys.Increment();
    it->second.value = Hash{};
  }
  auto* hash = std::get_if<Hash>(&it->second.value);
  if (hash == nullptr) return wrong_type(key, "hash");
  hash->insert_or_assign(std::string(field), std::string(value));
  return Status::ok();
}

Result<std::optional<std::string>> InProcessStateStore::hash_get(std::string_view key, std::string_view field) {
  std::lock_guard lock(mutex_);
  Entry* entry = find_live(key, clock_.now());
  if (entry == nullptr) return std::optional<std::string>();
  const auto* hash = std::get_if<Hash>(&entry->value);
  if (hash == nullptr) return wrong_type(key, "hash");
  auto found = hash->find(field);
  if (found == hash->end()) return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

Result<bool> InProcessStateStore::hash_erase(std::string_view key, std::string_view field) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  drop_expired(now);
  auto found = entries_.find(std::string(key));
  if (found == entries_.end()) return false;
  auto* hash = std::get_if<Hash>(&found->second.value);
  if (hash == nullptr) return wrong_type(key, "hash");
  auto field_it = hash->find(field);
  if (field_it == hash->end()) return false;
  hash->erase(field_it);
  if (hash->empty()) remove(found, /*expired=*/false);
  return true;
}

Result<std::map<std::string, std::string>> InProcessStateStore::hash_get_all(std::string_view key) {
  std::lock_guard lock(mutex_);
  Entry* entry = find_live(key, clock_.now());
  std::map<std::string, std::string> fields;
  if (entry == nullptr) return fields;
  const auto* hash = std::get_if<Hash>(&entry->value);
  if (hash == nullptr) return wrong_type(key, "hash");
  fields.insert(hash->begin(), hash->end());
  return fields;
}

Result<std::optional<Lease>> InProcessStateStore::acquire_lease(std::string_view name, std::string_view holder,
                                                                std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return invalid_ttl();
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  auto [it, inserted] = leases_.try_emplace(std::string(name));
  LeaseRecord& record = it->second;
  const bool live = !inserted && now < record.expires_at;
  if (live && record.holder != holder) {
    metrics_->refused.Increment();
    return std::optional<Lease>();
  }
  if (live) {
    metrics_->renewed.Increment();
  } else {
    record.holder = std::string(holder);
    record.token += 1;
    metrics_->acquired.Increment();
  }
  record.expires_at = now + std::chrono::duration_cast<Duration>(ttl);
  return std::optional<Lease>(Lease{record.holder, record.token, unix_ms(record.expires_at)});
}

Result<bool> InProcessStateStore::renew_lease(std::string_view name, const Lease& lease,
                                              std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return invalid_ttl();
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  auto found = leases_.find(name);
  if (found == leases_.end()) return false;
  LeaseRecord& record = found->second;
  if (now >= record.expires_at || record.holder != lease.holder || record.token != lease.token) return false;
  record.expires_at = now + std::chrono::duration_cast<Duration>(ttl);
  return true;
}

Status InProcessStateStore::release_lease(std::string_view name, const Lease& lease) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  auto found = leases_.find(name);
  if (found == leases_.end()) return Status::ok();
  LeaseRecord& record = found->second;
  if (now < record.expires_at && record.holder == lease.holder && record.token == lease.token) {
    record.expires_at = TimePoint();  // keeps the token, so the next holder gets a higher one
  }
  return Status::ok();
}

Result<std::optional<Lease>> InProcessStateStore::current_lease(std::string_view name) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  auto found = leases_.find(name);
  if (found == leases_.end() || now >= found->second.expires_at) return std::optional<Lease>();
  const LeaseRecord& record = found->second;
  return std::optional<Lease>(Lease{record.holder, record.token, unix_ms(record.expires_at)});
}

Status InProcessStateStore::ping() { return Status::ok(); }

size_t InProcessStateStore::key_count() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  drop_expired(now);
  return entries_.size();
}

}  // namespace vontres::state
