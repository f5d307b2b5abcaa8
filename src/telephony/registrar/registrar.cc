#include "telephony/registrar/registrar.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <utility>

#include "core/log.h"

namespace vontres::telephony::registrar {
namespace {

const log::Logger& logger() {
  static const log::Logger kLogger("sip.registrar");
  return kLogger;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// delta-seconds (RFC 3261 25.1); values beyond 2^32-1 saturate like RFC 3261 20.19 suggests.
std::optional<uint64_t> parse_delta_seconds(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.size() > 32) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) return uint64_t{0xffffffff};
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return std::min<uint64_t>(value, 0xffffffff);
}

uint16_t default_port(const sip::Uri& uri) {
  if (uri.scheme == "sips") return 5061;
  if (auto transport = uri.param("transport"); transport && to_lower(*transport) == "tls") return 5061;
  return 5060;
}

// Binding identity: RFC 3261 19.1.4 URI equality reduced to what distinguishes a phone's contact
// (scheme, case-sensitive user, case-insensitive host, port with its default, transport).
std::string contact_key(const sip::Uri& uri) {
  std::string key = uri.scheme + ":" + uri.user + "@" + to_lower(uri.host) + ":" +
                    std::to_string(uri.port.value_or(default_port(uri)));
  if (auto transport = uri.param("transport")) key += ";transport=" + to_lower(*transport);
  return key;
}

// RFC 1123 date for the Date header (RFC 3261 20.17), always GMT.
std::string http_date(TimePoint now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays.at(tm.tm_wday), tm.tm_mday,
                kMonths.at(tm.tm_mon), tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer.data();
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void remove_param(std::vector<sip::Param>& params, std::string_view name) {
  params.erase(std::remove_if(params.begin(), params.end(), [&](const sip::Param& p) { return p.name == name; }),
               params.end());
}

std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return std::string(v);
}

// One Contact of the request, validated before anything changes.
struct ContactUpdate {
  sip::NameAddr contact;
  std::string key;
  uint64_t expires = 0;  // seconds after clamping
  std::string instance_id;
  std::string reg_id;
};

// The user a REGISTER claims to be: the username of its Digest credentials, else the To user
// (the first REGISTER of a phone carries none). Only used to count and check lock-outs.
std::string claimed_username(const sip::Message& request, std::string_view to_user) {
  for (const auto value : request.headers_named(credentials_header_name(ChallengeKind::kWww))) {
    auto header = parse_auth_header(value);
    if (!header.is_ok()) continue;
    if (const std::string* username = header->param("username"); username != nullptr && !username->empty()) {
      return *username;
    }
  }
  return std::string(to_user);
}

// Failures that a guesser produces: a wrong password, or a user name that does not exist (counted
// under that name, so nothing tells a guesser which names exist). Missing or stale credentials are
// routine (every phone's first REGISTER) and not counted.
bool counts_as_guess(const Status& why) {
  const std::string_view code = why.code();
  return code == "digest_bad_response" || code == "digest_unknown_user";
}

}  // namespace

int64_t Binding::remaining_seconds(TimePoint now) const {
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(expires_at - now).count();
  return std::max<int64_t>(left, 0);
}

std::string_view binding_event_name(BindingEvent::Kind kind) {
  switch (kind) {
    case BindingEvent::Kind::kRegistered: return "registered";
    case BindingEvent::Kind::kUnregistered: return "unregistered";
    case BindingEvent::Kind::kExpired: return "expired";
  }
  return "unknown";
}

Registrar::Registrar(const Clock& clock, DigestServer& digest, CredentialStore& credentials, RegistrarOptions options)
    : clock_(clock),
      digest_(digest),
      credentials_(credentials),
      options_(std::move(options)),
      lockout_(clock, options_.lockout) {
  for (auto& domain : options_.domains) domain = to_lower(domain);
}

void Registrar::add_listener(BindingListener listener) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(listener));
}

std::string Registrar::new_tag() {
  const uint64_t value = splitmix64(options_.tag_seed + tag_counter_.fetch_add(1));
  std::array<char, 17> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%016llx", static_cast<unsigned long long>(value));
  return buffer.data();
}

sip::Message Registrar::make_response(const sip::Message& request, int status, std::string reason) {
  sip::Message response = sip::Message::response(status, std::move(reason));
  for (const auto via : request.headers_named("Via")) response.add_header("Via", std::string(via));
  if (auto from = request.header("From")) response.add_header("From", std::string(*from));
  if (auto to = request.header("To")) {
    std::string value(*to);
    auto parsed = sip::parse_name_addr(value);
    if (!parsed.is_ok() || !parsed->param("tag")) value += ";tag=" + new_tag();
    response.add_header("To", std::move(value));
  }
  if (auto call_id = request.header("Call-ID")) response.add_header("Call-ID", std::string(*call_id));
  if (auto cseq = request.header("CSeq")) response.add_header("CSeq", std::string(*cseq));
  return response;
}

RegisterOutcome Registrar::fail(const sip::Message& request, int status, std::string reason, Status why) {
  return {make_response(request, status, std::move(reason)), std::move(why)};
}

sip::Message Registrar::handle_register(const sip::Message& request, std::string_view source_ip, uint16_t source_port,
                                        std::string_view transport) {
  return handle(request, Flow{std::string(source_ip), source_port, std::string(transport)}).response;
}

RegisterOutcome Registrar::handle(const sip::Message& request, const Flow& flow) {
  RegisterOutcome outcome = [&] {
    if (!request.is_request() || request.method() != "REGISTER") {
      auto out = fail(request, 405, "Method Not Allowed",
                      invalid_argument("the registrar only answers REGISTER", "registrar_not_register"));
      out.response.add_header("Allow", "REGISTER");
      return out;
    }
    // Step 0: the headers every REGISTER has (RFC 3261 10.2).
    const auto call_id = request.header("Call-ID");
    const auto cseq_text = request.header("CSeq");
    const auto to_text = request.header("To");
    if (!call_id || call_id->empty() || !cseq_text || !to_text || !request.header("From")) {
      return fail(request, 400, "Bad Request",
                  invalid_argument("REGISTER without Call-ID, CSeq, From or To", "registrar_bad_request"));
    }
    auto cseq = sip::parse_cseq(*cseq_text);
    if (!cseq.is_ok() || cseq->method != "REGISTER") {
      return fail(request, 400, "Bad Request", invalid_argument("bad CSeq", "registrar_bad_request"));
    }
    auto to = sip::parse_name_addr(*to_text);
    if (!to.is_ok()) return fail(request, 400, "Bad Request", invalid_argument("bad To", "registrar_bad_request"));

    // Step 1: are we the registrar for this domain?
    auto request_uri = sip::parse_uri(request.request_uri());
    if (!request_uri.is_ok()) {
      return fail(request, 400, "Bad Request", invalid_argument("bad request-URI", "registrar_bad_request"));
    }
    if (!options_.domains.empty() && std::find(options_.domains.begin(), options_.domains.end(),
                                               to_lower(request_uri->host)) == options_.domains.end()) {
      return fail(request, 404, "Not Found",
                  not_found("not the registrar for this domain", "registrar_unknown_domain"));
    }
    // Step 2: we support no extensions that a client could require.
    if (const auto required = request.headers_named("Require"); !required.empty()) {
      auto out = fail(request, 420, "Bad Extension",
                      invalid_argument("unsupported extension required", "registrar_bad_extension"));
      for (const auto option : required) out.response.add_header("Unsupported", std::string(option));
      return out;
    }

    // Step 3: authenticate, unless guessing has locked the account or the source out. The lock is
    // checked before the credentials, so even the right password waits for the lock to end.
    const std::string claimed_user = claimed_username(request, to->uri.user);
    const std::string counted_source = flow.trusted ? std::string() : flow.ip;
    if (auto left = lockout_.locked(claimed_user, counted_source)) {
      auto out = fail(request, 403, "Forbidden",
                      resource_exhausted("too many failed authentications; try again later", "registrar_locked_out"));
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(*left).count();
      out.response.add_header("Retry-After", std::to_string(std::max<int64_t>(seconds, 1)));
      out.response.add_header("Warning", "399 vontres \"Too many failed authentications\"");
      return out;
    }
    std::optional<SipAccount> account;
    const std::string realm = digest_.realm();
    auto identity = digest_.verify(request, ChallengeKind::kWww, [&](std::string_view username) -> Result<Ha1Set> {
      auto found = credentials_.find(username);
      if (!found.is_ok()) {
        if (found.status().kind() == ErrorKind::kNotFound) {
          return unauthenticated("unknown SIP user", "digest_unknown_user");
        }
        return found.status();
      }
      if (!found->enabled) return permission_denied("SIP account disabled", "digest_account_disabled");
      if (found->realm != realm) {
        return unauthenticated("SIP account was set up for another realm; reset its password", "digest_realm_changed");
      }
      account = found.value();
      return Ha1Set{found->ha1_md5, found->ha1_sha256};
    });
    if (!identity.is_ok()) {
      const Status why = identity.status();
      if (counts_as_guess(why)) {
        const auto locked = lockout_.record_failure(claimed_user, counted_source);
        if (locked.account_locked_now || locked.source_locked_now) {
          logger().warn("SIP authentication locked out", {{"event.outcome", "failure"},
                                                          {"error.code", "registrar_locked_out"},
                                                          {"user.name", claimed_user},
                                                          {"source.ip", flow.ip},
                                                          {"vontres.lockout.account", locked.account_locked_now},
                                                          {"vontres.lockout.source", locked.source_locked_now}});
        }
      }
      switch (why.kind()) {
        case ErrorKind::kUnauthenticated: {
          auto out = fail(request, 401, "Unauthorized", why);
          digest_.add_challenge(out.response, ChallengeKind::kWww, why.code() == "digest_stale");
          return out;
        }
        case ErrorKind::kInvalidArgument: return fail(request, 400, "Bad Request", why);
        case ErrorKind::kPermissionDenied: return fail(request, 403, "Forbidden", why);
        case ErrorKind::kUnavailable: {
          auto out = fail(request, 503, "Service Unavailable", why);
          out.response.add_header("Retry-After", "5");
          return out;
        }
        default: return fail(request, 500, "Server Internal Error", why);
      }
    }
    lockout_.record_success(identity->username);
    // Step 4/5: the authenticated user may only register its own address of record.
    if (to->uri.user != identity->username || !account) {
      return fail(request, 403, "Forbidden",
                  permission_denied("To user is not the authenticated user", "registrar_to_mismatch"));
    }

    // Step 6/7: validate every Contact before changing anything.
    std::optional<uint64_t> expires_header;
    if (auto text = request.header("Expires")) {
      expires_header = parse_delta_seconds(*text);
      if (!expires_header) {
        return fail(request, 400, "Bad Request", invalid_argument("bad Expires", "registrar_bad_request"));
      }
    }
    const auto contact_values = request.headers_named("Contact");
    bool wildcard = false;
    std::vector<ContactUpdate> updates;
    uint64_t too_brief = 0;
    for (const auto value : contact_values) {
      auto contact = sip::parse_name_addr(value);
      if (!contact.is_ok()) {
        return fail(request, 400, "Bad Request", invalid_argument("bad Contact", "registrar_bad_contact"));
      }
      if (contact->wildcard) {
        wildcard = true;
        continue;
      }
      ContactUpdate update;
      std::optional<uint64_t> expires = expires_header;
      if (auto param = contact->param("expires")) {
        expires = parse_delta_seconds(*param);
        if (!expires)
          return fail(request, 400, "Bad Request", invalid_argument("bad expires", "registrar_bad_contact"));
      }
      update.expires = expires.value_or(static_cast<uint64_t>(options_.default_expires.count()));
      if (update.expires != 0 && update.expires < static_cast<uint64_t>(options_.min_expires.count())) {
        too_brief = std::max<uint64_t>(too_brief, update.expires);
      }
      update.expires = std::min<uint64_t>(update.expires, options_.max_expires.count());
      if (auto instance = contact->param("+sip.instance")) update.instance_id = unquote(*instance);
      if (auto reg_id = contact->param("reg-id")) update.reg_id = std::string(*reg_id);
      update.key = contact_key(contact->uri);
      update.contact = std::move(contact).value();
      remove_param(update.contact.params, "expires");
      updates.push_back(std::move(update));
    }
    if (wildcard && (contact_values.size() != 1 || expires_header != uint64_t{0})) {
      return fail(request, 400, "Bad Request",
                  invalid_argument("Contact: * needs Expires: 0 and no other Contact", "registrar_bad_wildcard"));
    }
    if (too_brief != 0) {
      auto out = fail(request, 423, "Interval Too Brief",
                      invalid_argument("expires below the minimum", "registrar_interval_too_brief"));
      out.response.add_header("Min-Expires", std::to_string(options_.min_expires.count()));
      return out;
    }

    const TimePoint now = clock_.now();
    const std::string user_agent(request.header("User-Agent").value_or(""));
    std::vector<BindingEvent> events;
    RegisterOutcome result = [&]() -> RegisterOutcome {
      std::lock_guard lock(mu_);
      Aor& aor = aors_[identity->username];
      expire_locked(identity->username, aor, now, events);
      std::vector<Binding> next = aor.bindings;
      std::vector<BindingEvent> changes;
      auto event = [&](BindingEvent::Kind kind, const Binding& b) {
        changes.push_back({kind, b.username, b.org_id, b.agent_id, b.contact_uri, 0});
      };
      // RFC 3261 10.3 step 6/7: a request older than what we stored for the same Call-ID aborts.
      auto out_of_order = [&](const Binding& b) { return b.call_id == *call_id && cseq->sequence <= b.cseq; };
      if (wildcard) {
        for (const auto& b : next) {
          if (out_of_order(b)) {
            return fail(request, 500, "Server Internal Error",
                        failed_precondition("CSeq not newer than the binding's", "registrar_out_of_order"));
          }
        }
        for (const auto& b : next) event(BindingEvent::Kind::kUnregistered, b);
        next.clear();
      } else {
        for (auto& update : updates) {
          auto it = std::find_if(next.begin(), next.end(), [&](const Binding& b) {
            if (contact_key(b.contact.uri) == update.key) return true;
            // RFC 5626: the same instance and reg-id is the same flow even from a new address.
            return !update.instance_id.empty() && !update.reg_id.empty() && b.instance_id == update.instance_id &&
                   b.reg_id == update.reg_id;
          });
          if (it != next.end() && out_of_order(*it)) {
            return fail(request, 500, "Server Internal Error",
                        failed_precondition("CSeq not newer than the binding's", "registrar_out_of_order"));
          }
          if (update.expires == 0) {
            if (it != next.end()) {
              event(BindingEvent::Kind::kUnregistered, *it);
              next.erase(it);
            }
            continue;
          }
          const bool added = it == next.end();
          if (added) {
            if (next.size() >= options_.max_bindings_per_user) {
              return fail(request, 403, "Too Many Bindings",
                          permission_denied("too many bindings for this user", "registrar_too_many_bindings"));
            }
            next.emplace_back();
            it = std::prev(next.end());
            it->registered_at = now;
          }
          Binding& b = *it;
          b.username = identity->username;
          b.org_id = account->org_id;
          b.agent_id = account->agent_id;
          b.contact = update.contact;
          b.contact_uri = update.contact.uri.to_string();
          b.call_id = std::string(*call_id);
          b.cseq = cseq->sequence;
          b.updated_at = now;
          b.refresh_sequence = ++refresh_counter_;
          b.expires_at = now + std::chrono::seconds(update.expires);
          b.flow = flow;
          b.behind_nat = to_lower(update.contact.uri.host) != to_lower(flow.ip) ||
                         update.contact.uri.port.value_or(default_port(update.contact.uri)) != flow.port;
          b.instance_id = update.instance_id;
          b.reg_id = update.reg_id;
          b.user_agent = user_agent;
          if (added) event(BindingEvent::Kind::kRegistered, b);
        }
      }
      aor.bindings = std::move(next);
      for (auto& change : changes) {
        change.remaining_bindings = aor.bindings.size();
        events.push_back(std::move(change));
      }
      // Step 8: 200 with every current binding and its remaining time.
      RegisterOutcome ok{make_response(request, 200, "OK"), Status::ok()};
      for (const auto& b : aor.bindings) {
        sip::NameAddr contact = b.contact;
        contact.params.push_back({"expires", std::to_string(b.remaining_seconds(now))});
        ok.response.add_header("Contact", contact.to_string());
      }
      ok.response.add_header("Date", http_date(now));
      if (aor.bindings.empty()) aors_.erase(identity->username);
      return ok;
    }();
    notify(events);
    return result;
  }();

  if (!outcome.status.is_ok()) {
    // Every phone's first REGISTER is challenged: routine, so debug; anything else is worth a line.
    // Source address and status are operational data (no secrets); the code says why.
    const log::Fields fields = {{"event.outcome", "failure"},
                                {"error.code", std::string(outcome.status.code())},
                                {"vontres.sip.status", outcome.response.status()},
                                {"source.ip", flow.ip},
                                {"source.port", flow.port}};
    if (outcome.status.code() == "digest_missing") {
      logger().debug("register challenged", fields);
    } else {
      logger().info("register rejected", fields);
    }
  }
  return outcome;
}

void Registrar::expire_locked(const std::string& username, Aor& aor, TimePoint now, std::vector<BindingEvent>& events) {
  auto expired = std::stable_partition(aor.bindings.begin(), aor.bindings.end(),
                                       [&](const Binding& b) { return b.expires_at > now; });
  for (auto it = expired; it != aor.bindings.end(); ++it) {
    const size_t remaining = static_cast<size_t>(expired - aor.bindings.begin());
    events.push_back({BindingEvent::Kind::kExpired, username, it->org_id, it->agent_id, it->contact_uri, remaining});
  }
  aor.bindings.erase(expired, aor.bindings.end());
}

void Registrar::notify(const std::vector<BindingEvent>& events) {
  if (events.empty()) return;
  std::vector<BindingListener> listeners;
  {
    std::lock_guard lock(mu_);
    listeners = listeners_;
  }
  for (const auto& event : events) {
    for (const auto& listener : listeners) listener(event);
  }
}

std::vector<Binding> Registrar::lookup(std::string_view username) {
  std::vector<BindingEvent> events;
  std::vector<Binding> out;
  {
    std::lock_guard lock(mu_);
    auto it = aors_.find(username);
    if (it != aors_.end()) {
      expire_locked(it->first, it->second, clock_.now(), events);
      out = it->second.bindings;
      if (it->second.bindings.empty()) aors_.erase(it);
    }
  }
  notify(events);
  std::sort(out.begin(), out.end(), [](const Binding& a, const Binding& b) {
    if (a.updated_at != b.updated_at) return a.updated_at > b.updated_at;
    return a.refresh_sequence > b.refresh_sequence;
  });
  return out;
}

size_t Registrar::expire() {
  std::vector<BindingEvent> events;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_.now();
    for (auto it = aors_.begin(); it != aors_.end();) {
      expire_locked(it->first, it->second, now, events);
      it = it->second.bindings.empty() ? aors_.erase(it) : std::next(it);
    }
  }
  notify(events);
  return events.size();
}

std::optional<TimePoint> Registrar::next_expiry() const {
  std::lock_guard lock(mu_);
  std::optional<TimePoint> next;
  for (const auto& [username, aor] : aors_) {
    for (const auto& b : aor.bindings) {
      if (!next || b.expires_at < *next) next = b.expires_at;
    }
  }
  return next;
}

size_t Registrar::remove_user(std::string_view username) {
  std::vector<BindingEvent> events;
  {
    std::lock_guard lock(mu_);
    auto it = aors_.find(username);
    if (it == aors_.end()) return 0;
    for (const auto& b : it->second.bindings) {
      events.push_back({BindingEvent::Kind::kUnregistered, b.username, b.org_id, b.agent_id, b.contact_uri, 0});
    }
    aors_.erase(it);
  }
  notify(events);
  return events.size();
}

size_t Registrar::binding_count() const {
  std::lock_guard lock(mu_);
  size_t count = 0;
  for (const auto& [username, aor] : aors_) count += aor.bindings.size();
  return count;
}

}  // namespace vontres::telephony::registrar
