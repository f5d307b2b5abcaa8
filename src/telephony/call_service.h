// CallService: the call-handling shell. It speaks SIP (ua::SipStack: UDP/TCP/TLS), registers
// agents' softphones (registrar with digest), terminates RTP per call leg (rtp::MediaSession),
// and drives the pure CallFlow: inbound INVITE -> answer -> IVR -> ACD (RoutingService) -> ring
// the offered agent's registered contact -> bridge the two legs through Vontres (so both sides
// can be tapped) -> BYE/CANCEL on either side ends both legs. Every call state change is an event
// on the bus (topic "call.events", key = call id); ended calls are stored (table `calls`).
//
// It also serves /api/v1/calls (live calls, history, hang up, hold/resume, blind transfer to a
// queue or an agent, attended transfer: consult / consult/complete / consult/cancel, originate)
// and /api/v1/sip-accounts, under the users service's permissions. An attended transfer's consult
// leg is a third media leg of the call, relayed (and tapped as the agent) like the others.
//
// Threading: own io_context with `io_threads` threads. The CallFlow and all per-call shell state
// live on one strand (`strand_`); SIP, media and routing callbacks are posted to it. API handlers
// run on the HTTP worker pool and wait for the strand (bounded). Public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "api/http.h"
#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/status.h"
#include "routing/acd_client.h"
#include "store/store.h"
#include "telephony/call/call_flow.h"
#include "telephony/rtp/media_tap.h"
#include "telephony/ua/sip_stack.h"

namespace vontres::telephony {

namespace registrar {
class AgentDirectory;
}

struct CallServiceOptions {
  TelephonyConfig telephony;
  std::string data_dir;     // recordings go under <data_dir>/recordings
  std::string prompts_dir;  // resolved prompts directory (WAV files)
  int io_threads = 2;       // SIP + media
  std::string topic = "call.events";
  std::string node_id = "node-1";  // consumer group suffix for routing events
  prometheus::Registry* metrics = nullptr;
  // Asked on every REGISTER whether the account's agent (user) is still active; null: not asked.
  // Must outlive the service.
  registrar::AgentDirectory* agents = nullptr;
  // The deployment's organisations, for telephony.default_org (inbound calls to a number no
  // organisation claimed). Unset: such calls are refused.
  struct Organisation {
    std::string id;
    std::string name;
  };
  std::function<Result<std::vector<Organisation>>()> organisations;
};

// The default prompts directory: <dir of the executable>/../share/prompts (the build tree) or
// <prefix>/share/vontres/prompts (installed), whichever exists; empty if neither.
std::string default_prompts_dir();

class CallService {
 public:
  // `clock`, `bus`, `store` and `routing` must outlive the service.
  CallService(Clock& clock, bus::EventBus& bus, store::Store& store, routing::AcdClient& acd,
              CallServiceOptions options);
  ~CallService();  // stop()
  CallService(const CallService&) = delete;
  CallService& operator=(const CallService&) = delete;

  static std::vector<store::Migration> migrations();

  // Binds SIP and starts the io threads and the routing-event consumer. Errors: address_in_use,
  // listen_failed, tls_config (from the SIP transport), or the bus's subscribe error.
  Status start();
  // Hangs up every live call, stops SIP and media, joins the threads. Idempotent.
  void stop();

  void register_routes(api::Router& router);
  // The AI service's view of the audio of every leg. Set before start(); may be null.
  void set_media_tap(rtp::MediaTap* tap);
  // Speech recognised on a call (from the AI service): drives speech choices in the IVR.
  void on_speech(const CallId& call, const std::string& text, const std::string& intent);
  // In-call protection (AI service): the call's recording records silence while paused.
  void set_recording_paused(const CallId& call, bool paused);

  uint16_t sip_port(ua::TransportKind transport) const;
  std::vector<CallSnapshot> live_calls();
  // Packet counters of a live call's legs, for tests and the API: {caller: {...}, agent: {...}}.
  nlohmann::json media_counters(const CallId& call);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vontres::telephony
