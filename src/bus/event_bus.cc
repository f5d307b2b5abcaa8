#include "bus/event_bus.h"

namespace vontres::bus {

Status prepare_for_publish(Event& event, IdGenerator& ids, const Clock& clock) {
  if (event.topic.empty()) return invalid_argument("event has no topic", "topic_invalid");
  for (const auto& [name, value] : event.headers) {
    if (name.starts_with("vontres-")) {
      return invalid_argument("header name '" + name + "' is reserved for the bus", "header_reserved");
    }
  }
  if (event.id.empty()) event.id = ids.next();
  if (event.timestamp_ms == 0) event.timestamp_ms = clock.now_unix_ms();
  return Status::ok();
}

}  // namespace vontres::bus
