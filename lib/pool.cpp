#include "pool.hpp"
#include "store.hpp"

#include <malloc.h>

namespace abri::pool {

namespace {

// Hands the memory a burst freed back to the system. Not under
// AddressSanitizer or ThreadSanitizer: their allocators replace glibc's,
// and glibc's malloc_trim then walks an arena that was never set up (SEGV
// in mtrim, seen in `make test SANITIZE=1` and in a ThreadSanitizer run of
// the pool's unit tests).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ABRI_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ABRI_MALLOC_REPLACED 1
#endif
#endif

void trim_heap() {
#ifndef ABRI_MALLOC_REPLACED
    malloc_trim(0);
#endif
}

}  // namespace

Jobs::Jobs(Run run, Settings settings) : run_(std::move(run)), settings_(settings) {}

Jobs::~Jobs() { close(); }

void Jobs::push(longpoll::Job job) {
    std::list<std::thread> finished;
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
        wake_or_start();
        finished.swap(finished_);
    }
    for (auto& thread : finished) thread.join();
}

std::optional<longpoll::Job> Jobs::try_push(longpoll::Job job) {
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= settings_.max_queued) return job;
    }
    push(std::move(job));
    return std::nullopt;
}

void Jobs::close() {
    std::unique_lock lock(mutex_);
    closed_ = true;
    ready_.notify_all();
    gone_.wait(lock, [this] { return workers_ == 0; });
    for (auto& thread : finished_) thread.join();
    finished_.clear();
}

std::size_t Jobs::workers() const {
    std::lock_guard lock(mutex_);
    return workers_;
}

// A job was just queued; mutex_ held.
void Jobs::wake_or_start() {
    if (queue_.size() <= idle_ || workers_ >= settings_.max_workers) {
        ready_.notify_one();
        return;
    }
    ++workers_;
    threads_.emplace_back();
    const auto self = std::prev(threads_.end());
    *self = std::thread([this, self] { work(self); });
}

void Jobs::work(std::list<std::thread>::iterator self) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (queue_.empty()) {
            if (closed_) break;
            ++idle_;
            const bool woken = ready_.wait_for(lock, settings_.idle, [this] { return closed_ || !queue_.empty(); });
            --idle_;
            if (!woken && workers_ > 1) break;
            continue;
        }
        auto job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        run_(std::move(job));
        lock.lock();
    }
    --workers_;
    finished_.splice(finished_.end(), threads_, self);  // joined by the next push, or by close()
    const bool last = workers_ == 0;
    lock.unlock();
    if (last) gone_.notify_all();
    store::close_thread_db();
    trim_heap();
}

}  // namespace abri::pool
