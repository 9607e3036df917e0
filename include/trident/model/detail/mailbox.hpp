#pragma once
// The channel between the devices of a pipeline step: each device has one mailbox; a send moves a
// payload into the receiving device's mailbox under a key (activation or gradient, the stage that
// produced it, the micro-batch), a receive blocks until that key is there and moves it out.
// abort() wakes every blocked receive (an exception on another device, a stop request): the
// receive then throws detail::step_aborted, which the runner swallows (the first error is what
// reaches the caller).

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace trident::model::detail {

/// What a message carries: the output of a stage's forward, or the gradient of a stage's input.
enum class message_kind : int { activation = 0, gradient = 1 };

/// A message's key: the kind, the stage that produced it, the micro-batch.
struct message_key {
    message_kind kind;
    int stage;
    int micro_batch;
    friend bool operator<(const message_key& a, const message_key& b)
    {
        return std::tie(a.kind, a.stage, a.micro_batch) < std::tie(b.kind, b.stage, b.micro_batch);
    }
};

/// Thrown by a blocked receive when the step was aborted; never reaches a user.
struct step_aborted {};

template <class Payload>
class mailbox {
public:
    /// Stores `p` under `key` and wakes the receiver.  A second message under the same key is a
    /// logic error of the schedule (validate() rules it out): std::logic_error.
    void put(message_key key, Payload p)
    {
        {
            std::lock_guard lock(mutex_);
            if (!messages_.emplace(key, std::move(p)).second)
                throw std::logic_error("trident::model: two messages for stage " + std::to_string(key.stage) +
                                       ", micro-batch " + std::to_string(key.micro_batch));
        }
        ready_.notify_all();
    }

    /// Blocks until a message under `key` is there (and moves it out) or the step is aborted
    /// (throws step_aborted).
    Payload take(message_key key)
    {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (aborted_)
                throw step_aborted{};
            if (auto it = messages_.find(key); it != messages_.end()) {
                Payload p = std::move(it->second);
                messages_.erase(it);
                return p;
            }
            ready_.wait(lock);
        }
    }

    /// Wakes every blocked take(), which then throws step_aborted (so do later ones).
    void abort()
    {
        {
            std::lock_guard lock(mutex_);
            aborted_ = true;
        }
        ready_.notify_all();
    }

    /// Drops every message (their payloads are destroyed here, on the calling thread) and clears
    /// the abort flag: the mailbox is ready for the next step.
    void reset()
    {
        std::map<message_key, Payload> dropped;
        {
            std::lock_guard lock(mutex_);
            dropped.swap(messages_);
            aborted_ = false;
        }
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::map<message_key, Payload> messages_;
    bool aborted_ = false;
};

} // namespace trident::model::detail
