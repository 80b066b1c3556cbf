#include "longpoll.hpp"
#include "limits.hpp"
#include "log.hpp"
#include "pulse.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

namespace abri::longpoll {

namespace {

constexpr std::uint64_t kInotifyTag = 0;
constexpr std::uint64_t kStopTag = ~0ULL;
// Without a change the feed is read again at this interval anyway: a
// safety net should an inotify event ever be missed, not the wake path.
constexpr auto kSafetyInterval = std::chrono::seconds(2);

void erase_value(std::unordered_multimap<std::int64_t, std::uint64_t>& index, std::int64_t key,
                 std::uint64_t ticket) {
    auto [first, last] = index.equal_range(key);
    for (auto it = first; it != last; ++it) {
        if (it->second == ticket) {
            index.erase(it);
            return;
        }
    }
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

void add_to_epoll(int epoll_fd, int fd, std::uint32_t events, std::uint64_t tag) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = tag;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
    }
}

}  // namespace

Waiters::Waiters(const store::Options& options, std::function<void(Job)> ready)
    : db_(options),
      wake_path_(store::wake_path(options)),
      wake_name_(name_of(wake_path_)),
      ready_(std::move(ready)) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || inotify_fd_ < 0 || stop_fd_ < 0) {
        throw std::runtime_error(std::string("cannot set up the long-poll watcher: ") + std::strerror(errno));
    }
    // The wake file itself, for its writes: a watch on the directory's
    // writes would also fire for every page written to the -wal file (a
    // purge writes hundreds of thousands) in every process. The directory
    // is watched only for the file appearing: it may not exist yet, or be
    // made again.
    const std::string directory = directory_of(options.path);
    directory_watch_ = inotify_add_watch(inotify_fd_, directory.c_str(), IN_CREATE | IN_MOVED_TO);
    if (directory_watch_ < 0) {
        throw std::runtime_error("cannot watch " + directory + ": " + std::strerror(errno));
    }
    watch_wake_file();
    add_to_epoll(epoll_fd_, inotify_fd_, EPOLLIN, kInotifyTag);
    add_to_epoll(epoll_fd_, stop_fd_, EPOLLIN, kStopTag);
    cursor_ = pulse::latest(db_);
    thread_ = std::thread([this] { loop(); });
}

Waiters::~Waiters() {
    stop();
    close(epoll_fd_);
    close(inotify_fd_);
    close(stop_fd_);
}

std::int64_t Waiters::cursor() const {
    std::lock_guard lock(mutex_);
    return cursor_;
}

std::size_t Waiters::parked() const {
    std::lock_guard lock(mutex_);
    return parked_.size();
}

bool Waiters::park(Job job, std::int64_t cursor) {
    std::unique_lock lock(mutex_);
    if (stopped_) {
        job.timed_out = true;
        lock.unlock();
        ready_(std::move(job));
        return true;
    }
    if (cursor != cursor_) {
        // A change was handed out while the worker looked: look again.
        lock.unlock();
        ready_(std::move(job));
        return true;
    }
    if (parked_.size() >= limits::kMaxParked) return false;
    const std::uint64_t ticket = next_ticket_++;
    const Wait& wait = *job.wait;
    for (auto id : wait.sessions) by_session_.emplace(id, ticket);
    for (auto id : wait.units) by_unit_.emplace(id, ticket);
    const auto deadline = by_deadline_.emplace(wait.deadline, ticket);
    const int fd = job.exchange->hangup_fd();
    parked_.emplace(ticket, Parked{std::move(job), ticket, deadline});
    if (fd >= 0) {
        epoll_event event{};
        event.events = EPOLLRDHUP;
        event.data.u64 = ticket;
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    }
    // The watcher may sleep past this deadline: let it recompute.
    const std::uint64_t one = 1;
    if (deadline == by_deadline_.begin()) (void)!write(stop_fd_, &one, sizeof one);
    return true;
}

Job Waiters::take(std::uint64_t ticket) {
    auto it = parked_.find(ticket);
    Parked parked = std::move(it->second);
    parked_.erase(it);
    for (auto id : parked.job.wait->sessions) erase_value(by_session_, id, ticket);
    for (auto id : parked.job.wait->units) erase_value(by_unit_, id, ticket);
    by_deadline_.erase(parked.by_deadline);
    const int fd = parked.job.exchange->hangup_fd();
    if (fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    return std::move(parked.job);
}

void Waiters::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        stopped_ = true;
    }
    const std::uint64_t stop_value = 1ULL << 40;
    (void)!write(stop_fd_, &stop_value, sizeof stop_value);
    thread_.join();
    std::vector<Job> released;
    {
        std::lock_guard lock(mutex_);
        while (!parked_.empty()) released.push_back(take(parked_.begin()->first));
    }
    for (auto& job : released) {
        job.timed_out = true;
        ready_(std::move(job));
    }
}

void Waiters::watch_wake_file() {
    // Fails while the file does not exist: its creation is watched.
    wake_watch_ = inotify_add_watch(inotify_fd_, wake_path_.c_str(), IN_MODIFY);
}

bool Waiters::drain_inotify() {
    alignas(inotify_event) char buffer[4096];
    bool changed = false;
    for (;;) {
        const ssize_t n = read(inotify_fd_, buffer, sizeof buffer);
        if (n <= 0) break;
        for (ssize_t offset = 0; offset < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
            if (event->wd == wake_watch_ && (event->mask & IN_MODIFY)) changed = true;
            if (event->wd == wake_watch_ && (event->mask & IN_IGNORED)) wake_watch_ = -1;  // the file went
            if (event->wd == directory_watch_ && event->len > 0 && std::string_view(event->name) == wake_name_) {
                watch_wake_file();
                changed = true;
            }
            if (event->mask & IN_Q_OVERFLOW) changed = true;
            offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
    }
    return changed;
}

// With no poll parked here, no pulse can wake anything: move the cursor
// past them without reading them (a purge writes one per erased chat: the
// programs that never park, or have nobody waiting, read them for nothing
// and kept the memory).
// A poll that parks meanwhile keeps the cursor it read, which then differs
// from cursor_: it looks again (park()).
bool Waiters::pass_when_nobody_waits() {
    {
        std::lock_guard lock(mutex_);
        if (!parked_.empty()) return false;
    }
    const std::int64_t latest = pulse::latest(db_);
    std::lock_guard lock(mutex_);
    if (!parked_.empty()) return false;
    cursor_ = std::max(cursor_, latest);
    return true;
}

void Waiters::dispatch_changes() {
    std::unordered_set<std::int64_t> sessions;
    std::unordered_set<std::int64_t> units;
    std::int64_t last = 0;
    try {
        if (pass_when_nobody_waits()) return;
        last = pulse::since(db_, cursor(), [&](const pulse::Pulse& p) {
            sessions.insert(p.session_id);
            units.insert(p.unit_id);
        });
    } catch (const store::Error& e) {
        log::line(std::string("long-poll watcher cannot read the change feed: ") + e.what());
        return;
    }
    std::vector<Job> woken;
    {
        std::lock_guard lock(mutex_);
        if (last <= cursor_) return;
        std::unordered_set<std::uint64_t> tickets;
        for (auto id : sessions) {
            auto [first, end] = by_session_.equal_range(id);
            for (auto it = first; it != end; ++it) tickets.insert(it->second);
        }
        for (auto id : units) {
            auto [first, end] = by_unit_.equal_range(id);
            for (auto it = first; it != end; ++it) tickets.insert(it->second);
        }
        for (auto ticket : tickets) woken.push_back(take(ticket));
        cursor_ = last;
    }
    for (auto& job : woken) ready_(std::move(job));
}

void Waiters::release_expired() {
    std::vector<Job> expired;
    {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
            expired.push_back(take(by_deadline_.begin()->second));
        }
    }
    for (auto& job : expired) {
        job.timed_out = true;
        ready_(std::move(job));
    }
}

void Waiters::drop_hung_up(std::uint64_t ticket) {
    std::optional<Job> gone;
    {
        std::lock_guard lock(mutex_);
        if (parked_.count(ticket) == 0) return;
        gone = take(ticket);
    }
    // Destroying the exchange closes the connection and frees its memory.
}

void Waiters::loop() {
    epoll_event events[64];
    auto next_safety_check = Clock::now() + kSafetyInterval;
    for (;;) {
        auto wake_at = next_safety_check;
        {
            std::lock_guard lock(mutex_);
            if (!by_deadline_.empty()) wake_at = std::min(wake_at, by_deadline_.begin()->first);
        }
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake_at - Clock::now()).count();
        const int n = epoll_wait(epoll_fd_, events, 64, static_cast<int>(std::max<long>(0, wait)));
        bool changed = false;
        for (int i = 0; i < n; ++i) {
            const std::uint64_t tag = events[i].data.u64;
            if (tag == kInotifyTag) {
                changed = drain_inotify() || changed;
            } else if (tag == kStopTag) {
                std::uint64_t value = 0;
                (void)!read(stop_fd_, &value, sizeof value);
                if (value >= (1ULL << 40)) return;
            } else {
                drop_hung_up(tag);
            }
        }
        const auto now = Clock::now();
        if (changed || now >= next_safety_check) {
            dispatch_changes();
            next_safety_check = now + kSafetyInterval;
        }
        release_expired();
    }
}

}  // namespace abri::longpoll
