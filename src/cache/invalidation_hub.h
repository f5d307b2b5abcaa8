// InvalidationHub: the subscribers of one Cache's invalidations, for Cache implementations
// (InProcessCache, RedisClusterCache). Held by shared_ptr, shared with the subscriptions it hands
// out, so a subscription destroyed after its cache still has something to unsubscribe from.
//
// No callback starts, or is still running, once a subscription's destructor returns; a callback
// may destroy its own subscription. One throwing subscriber does not keep the others from
// hearing about an invalidation.
//
// Thread-safety: every method may be called from any thread. notify() runs the callbacks on the
// calling thread; call it with no cache lock held (callbacks may call back into the cache).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "cache/cache.h"

namespace vontres::cache {

class InvalidationHub : public std::enable_shared_from_this<InvalidationHub> {
 public:
  std::unique_ptr<InvalidationSubscription> add(std::function<void(std::string_view key)> callback);
  void notify(std::string_view key);

 private:
  struct Subscriber {
    std::function<void(std::string_view)> callback;
    // Held while the callback runs and while unsubscribing. Recursive so a callback may
    // unsubscribe itself.
    std::recursive_mutex call_mutex;
    bool active = true;  // GUARDED_BY(call_mutex)
  };
  class Subscription;

  void remove(const Subscriber* subscriber);

  std::mutex mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;  // GUARDED_BY(mutex_)
};

}  // namespace vontres::cache
