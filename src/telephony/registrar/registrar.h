// The SIP registrar (RFC 3261 10.3): authenticates REGISTER requests with digest (401 + challenge),
// checks that the To user is the authenticated SIP username (403), and keeps that user's contact
// bindings with their expiry, Call-ID/CSeq ordering and the network flow the REGISTER came from
// (so the call service can INVITE an agent behind NAT through the same address and port).
// Pure logic over sip::Message: no sockets, time from the injected Clock.
//
// Thread-safety: internally locked; every method may be called from any thread. Credential look-ups
// (Store I/O) run outside the lock. Change listeners run on the calling thread after the lock is
// released, so they may call lookup(); events of one call are delivered in order.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/registrar/accounts.h"
#include "telephony/registrar/digest.h"
#include "telephony/registrar/lockout.h"
#include "telephony/sip/message.h"

namespace vontres::telephony::registrar {

struct RegistrarOptions {
  // Domains we are the registrar for (request-URI host); empty accepts any (single-tenant edge).
  std::vector<std::string> domains;
  std::chrono::seconds default_expires{3600};
  std::chrono::seconds min_expires{60};    // shorter non-zero requests get 423 + Min-Expires
  std::chrono::seconds max_expires{7200};  // longer requests are clamped
  size_t max_bindings_per_user = 10;       // more gets 403 "Too Many Bindings"
  uint64_t tag_seed = 0x5eed;              // To-tags of our responses are derived from it
  // Digest guessing: wrong credentials lock the account and the source address out for a while;
  // locked requests get 403 with Retry-After and a Warning (see lockout.h and docs/telephony.md).
  LockoutOptions lockout;
};

// Where a REGISTER arrived from: the flow to send requests for this binding through.
struct Flow {
  std::string ip;         // source address of the packet (RFC 3261 18.2.1 "received")
  uint16_t port = 0;      // source port (RFC 3581 "rport")
  std::string transport;  // "UDP", "TCP", "TLS", "WS", "WSS"
  // A configured trunk or edge proxy (telephony.sip_trusted_sources): its failures are not
  // counted against the address, which many phones share, only against each account.
  bool trusted = false;
};

struct Binding {
  std::string username;
  std::string org_id;
  std::string agent_id;
  sip::NameAddr contact;    // as registered, without its expires parameter
  std::string contact_uri;  // contact.uri.to_string()
  std::string call_id;
  uint32_t cseq = 0;
  TimePoint registered_at;  // first REGISTER of this binding
  TimePoint updated_at;     // last refresh
  TimePoint expires_at;
  uint64_t refresh_sequence = 0;  // orders refreshes within one clock tick (newest = highest)
  Flow flow;
  // True when the Contact's host:port differs from the flow's source (NAT in between): send to flow.
  bool behind_nat = false;
  std::string instance_id;  // +sip.instance (RFC 5626), if any
  std::string reg_id;       // reg-id (RFC 5626), if any
  std::string user_agent;

  int64_t remaining_seconds(TimePoint now) const;
};

struct BindingEvent {
  enum class Kind { kRegistered, kUnregistered, kExpired };
  Kind kind = Kind::kRegistered;
  std::string username;
  std::string org_id;
  std::string agent_id;
  std::string contact_uri;
  size_t remaining_bindings = 0;  // the user's bindings after this change: 0 means unreachable
};
std::string_view binding_event_name(BindingEvent::Kind kind);  // "registered", "unregistered", "expired"
using BindingListener = std::function<void(const BindingEvent&)>;

// The response and why: status is OK for a 200, else the stable code of the failure (digest_*,
// registrar_*) for logs and metrics.
struct RegisterOutcome {
  sip::Message response;
  Status status;
};

class Registrar {
 public:
  // `digest` and `credentials` must outlive the registrar.
  Registrar(const Clock& clock, DigestServer& digest, CredentialStore& credentials, RegistrarOptions options = {});

  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Answers one REGISTER (200, 400, 401, 403, 404, 420, 423, 500, 503). A locked-out account or
  // source gets 403 "Forbidden" + Retry-After, status resource_exhausted "registrar_locked_out".
  sip::Message handle_register(const sip::Message& request, std::string_view source_ip, uint16_t source_port,
                               std::string_view transport);
  RegisterOutcome handle(const sip::Message& request, const Flow& flow);

  // The user's live bindings, most recently refreshed first (ties broken by refresh order). Drops expired ones (with
  // events).
  std::vector<Binding> lookup(std::string_view username);
  // Removes every expired binding, notifying listeners; returns how many.
  size_t expire();
  // When the next binding expires (for the shell's timer), if any.
  std::optional<TimePoint> next_expiry() const;
  // Removes all bindings of a user (account deleted or disabled); returns how many.
  size_t remove_user(std::string_view username);
  size_t binding_count() const;

  void add_listener(BindingListener listener);

 private:
  struct Aor {
    std::vector<Binding> bindings;
  };
  // REQUIRES: mu_ held. Moves expired bindings out of `aor` into `events`.
  void expire_locked(const std::string& username, Aor& aor, TimePoint now, std::vector<BindingEvent>& events);
  void notify(const std::vector<BindingEvent>& events);
  std::string new_tag();
  sip::Message make_response(const sip::Message& request, int status, std::string reason);
  RegisterOutcome fail(const sip::Message& request, int status, std::string reason, Status why);

  const Clock& clock_;
  DigestServer& digest_;
  CredentialStore& credentials_;
  RegistrarOptions options_;
  AuthLockout lockout_;

  mutable std::mutex mu_;
  std::map<std::string, Aor, std::less<>> aors_;  // GUARDED_BY(mu_), by username
  std::vector<BindingListener> listeners_;        // GUARDED_BY(mu_)
  std::atomic<uint64_t> tag_counter_{0};
  uint64_t refresh_counter_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace vontres::telephony::registrar
