#include "cache/invalidation_hub.h"

#include <utility>

namespace vontres::cache {

class InvalidationHub::Subscription final : public InvalidationSubscription {
 public:
  Subscription(std::shared_ptr<InvalidationHub> hub, std::shared_ptr<Subscriber> subscriber)
      : hub_(std::move(hub)), subscriber_(std::move(subscriber)) {}
  ~Subscription() override {
    hub_->remove(subscriber_.get());
    std::lock_guard lock(subscriber_->call_mutex);
    subscriber_->active = false;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

 private:
  std::shared_ptr<InvalidationHub> hub_;
  std::shared_ptr<Subscriber> subscriber_;
};

std::unique_ptr<InvalidationSubscription> InvalidationHub::add(std::function<void(std::string_view key)> callback) {
  auto subscriber = std::make_shared<Subscriber>();
  subscriber->callback = std::move(callback);
  {
    std::lock_guard lock(mutex_);
    subscribers_.push_back(subscriber);
  }
  return std::make_unique<Subscription>(shared_from_this(), std::move(subscriber));
}

void InvalidationHub::remove(const Subscriber* subscriber) {
  std::lock_guard lock(mutex_);
  std::erase_if(subscribers_, [&](const auto& s) { return s.get() == subscriber; });
}

void InvalidationHub::notify(std::string_view key) {
  std::vector<std::shared_ptr<Subscriber>> snapshot;
  {
    std::lock_guard lock(mutex_);
    snapshot = subscribers_;
  }
  for (const auto& subscriber : snapshot) {
    std::lock_guard lock(subscriber->call_mutex);
    if (!subscriber->active) continue;
    try {
      subscriber->callback(key);
    } catch (...) {
      // One throwing subscriber must not keep the others from hearing about the invalidation.
    }
  }
}

}  // namespace vontres::cache
