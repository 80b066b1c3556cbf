#include "server.hpp"
#include "errors.hpp"
#include "limits.hpp"
#include "log.hpp"

#include <fcgiapp.h>
#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <future>
#include <iostream>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace abri::server {

namespace {

// Hands the memory a burst freed back to the system. Not with
// AddressSanitizer: its allocator replaces glibc's, and glibc's malloc_trim
// then walks an arena that was never set up (SEGV in mtrim, seen in
// `make test SANITIZE=1`).
void trim_heap() {
#if defined(__SANITIZE_ADDRESS__)
    return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return;
#else
    malloc_trim(0);
#endif
#else
    malloc_trim(0);
#endif
}

std::string bounded(const char* value) {
    if (value == nullptr) return {};
    const std::size_t length = strnlen(value, limits::kMaxParamBytes + 1);
    return length > limits::kMaxParamBytes ? std::string{} : std::string(value, length);
}

// An answer's FastCGI records, written by hand (FastCGI 1.0, section 5):
// its STDOUT in records of at most 65535 bytes, an empty STDOUT, then
// END_REQUEST (application status 0, REQUEST_COMPLETE).
std::string fastcgi_records(int request_id, std::string_view out) {
    constexpr std::size_t kMaxContent = 65535;
    std::string records;
    records.reserve(out.size() + 40);
    const auto append = [&](unsigned char type, std::string_view content) {
        const char header[8] = {1,
                                static_cast<char>(type),
                                static_cast<char>((request_id >> 8) & 0xff),
                                static_cast<char>(request_id & 0xff),
                                static_cast<char>((content.size() >> 8) & 0xff),
                                static_cast<char>(content.size() & 0xff),
                                0,
                                0};
        records.append(header, sizeof header);
        records.append(content);
    };
    constexpr unsigned char kStdout = 6;
    constexpr unsigned char kEndRequest = 3;
    for (std::size_t at = 0; at < out.size(); at += kMaxContent) append(kStdout, out.substr(at, kMaxContent));
    append(kStdout, {});
    append(kEndRequest, std::string_view("\0\0\0\0\0\0\0\0", 8));
    return records;
}

// Once its request is read, an exchange keeps only its connection: libfcgi's
// streams and parameters (some 17 KiB, mostly two 8 KiB buffers) are freed,
// and the answer is written as FastCGI records here. A parked long-poll so
// costs its socket and its parsed request, not a libfcgi request.
class FcgiExchange final : public longpoll::Exchange {
public:
    explicit FcgiExchange(int listen_fd) { FCGX_InitRequest(&request_, listen_fd, 0); }
    ~FcgiExchange() override {
        if (fd_ >= 0) close(fd_);
    }
    bool accept() {
        if (FCGX_Accept_r(&request_) < 0) return false;
        fd_ = request_.ipcFd;
        request_id_ = request_.requestId;
        return true;
    }
    // Reads parameters and at most one byte more than the body limit, then
    // lets libfcgi's buffers go. False when the body is too large (nginx
    // caps bodies at the same size first: what is left unread is dropped
    // with the connection, after the answer).
    bool read() {
        request = request_from_params([this](const char* name) { return FCGX_GetParam(name, request_.envp); });
        std::string& body = request.body;
        char chunk[4096];
        bool fits = true;
        for (;;) {
            const int n = FCGX_GetStr(chunk, sizeof chunk, request_.in);
            if (n <= 0) break;
            body.append(chunk, static_cast<std::size_t>(n));
            if (body.size() > limits::kMaxBodyBytes) {
                fits = false;
                break;
            }
        }
        FCGX_Free(&request_, 0);  // 0: the connection stays open, ours now
        return fits;
    }
    // One write of the records, then the connection closes (nginx keeps no
    // FastCGI connection open: fastcgi_keep_conn off). A client that went
    // away makes the write fail with EPIPE, which is ignored.
    void respond(const http::Response& response) override {
        const std::string records = fastcgi_records(request_id_, http::serialize(response));
        std::size_t written = 0;
        while (written < records.size()) {
            const ssize_t n = write(fd_, records.data() + written, records.size() - written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            written += static_cast<std::size_t>(n);
        }
        close(fd_);
        fd_ = -1;
    }
    int hangup_fd() const override { return fd_; }

private:
    FCGX_Request request_{};
    int fd_ = -1;
    int request_id_ = 0;
};

class CgiExchange final : public longpoll::Exchange {
public:
    explicit CgiExchange(std::promise<void>& done) : done_(done) {}
    bool read() {
        request = request_from_params([](const char* name) { return std::getenv(name); });
        const char* length = std::getenv("CONTENT_LENGTH");
        const long expected = length ? std::atol(length) : 0;
        if (expected < 0 || static_cast<std::size_t>(expected) > limits::kMaxBodyBytes) return false;
        request.body.resize(static_cast<std::size_t>(expected));
        std::cin.read(request.body.data(), expected);
        request.body.resize(static_cast<std::size_t>(std::cin.gcount()));
        return true;
    }
    void respond(const http::Response& response) override {
        std::cout << http::serialize(response) << std::flush;
        done_.set_value();
    }

private:
    std::promise<void>& done_;
};

// The queue between the acceptor, the watcher and the workers, and the
// workers themselves. A worker is started when a job finds none idle, up
// to `max` (ABRI_THREADS): a send blocks its worker until its group commit,
// so one commit (one fsync) carries at most as many sends as there are
// workers. A worker idle for limits::kWorkerIdleSeconds leaves (one always
// stays), closing its read connection and handing freed memory back to the
// system, so that what a burst took returns.
class Jobs {
public:
    using Run = std::function<void(longpoll::Job)>;
    // Before the first push.
    void start(Run run, int max_workers) {
        run_ = std::move(run);
        max_ = static_cast<std::size_t>(max_workers);
    }
    void push(longpoll::Job job) {
        std::list<std::thread> finished;
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(job));
            wake_or_start();
            finished.swap(finished_);
        }
        for (auto& thread : finished) thread.join();
    }
    // A new request is refused when the workers are that far behind: the
    // job comes back for a 503.
    std::optional<longpoll::Job> try_push(longpoll::Job job) {
        {
            std::lock_guard lock(mutex_);
            if (queue_.size() >= limits::kMaxQueued) return job;
        }
        push(std::move(job));
        return std::nullopt;
    }
    // Runs what is queued, then waits for every worker to leave.
    void close() {
        std::unique_lock lock(mutex_);
        closed_ = true;
        ready_.notify_all();
        gone_.wait(lock, [this] { return workers_ == 0; });
        for (auto& thread : finished_) thread.join();
        finished_.clear();
    }

private:
    // A job was just queued; mutex_ held.
    void wake_or_start() {
        if (queue_.size() <= idle_ || workers_ >= max_) {
            ready_.notify_one();
            return;
        }
        ++workers_;
        threads_.emplace_back();
        const auto self = std::prev(threads_.end());
        *self = std::thread([this, self] { work(self); });
    }

    void work(std::list<std::thread>::iterator self) {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (queue_.empty()) {
                if (closed_) break;
                ++idle_;
                const bool woken = ready_.wait_for(lock, std::chrono::seconds(limits::kWorkerIdleSeconds),
                                                   [this] { return closed_ || !queue_.empty(); });
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

    Run run_;
    std::size_t max_ = 1;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::condition_variable gone_;
    std::deque<longpoll::Job> queue_;
    std::size_t workers_ = 0;         // started and not yet left
    std::size_t idle_ = 0;            // of which waiting for a job
    std::list<std::thread> threads_;  // the workers'
    std::list<std::thread> finished_; // of workers that left, to join
    bool closed_ = false;
};

http::Response too_large() {
    return http::error_response(413, "body_too_large", "Le contenu envoyé est trop long.");
}

http::Response overloaded() {
    const auto e = errors::unavailable();
    return http::error_response(e.status, e.code, e.what());
}

void run_job(longpoll::Job job, const Handler& handler, longpoll::Waiters& waiters) {
    const std::int64_t cursor = waiters.cursor();
    std::optional<Outcome> outcome;
    try {
        if (!job.wait) {
            outcome = handler(job.exchange->request);
        } else if (auto answer = job.wait->resume(job.timed_out)) {
            outcome = std::move(*answer);
        } else if (job.timed_out) {
            throw std::logic_error("a long-poll did not answer at its deadline");
        } else {
            outcome = std::move(*job.wait);
        }
    } catch (...) {
        outcome = answer_failure(std::current_exception());
    }
    if (auto* response = std::get_if<http::Response>(&*outcome)) {
        job.exchange->respond(*response);
        return;
    }
    job.wait = std::move(std::get<longpoll::Wait>(*outcome));
    job.timed_out = false;
    auto* exchange = job.exchange.get();
    if (!waiters.park(std::move(job), cursor)) exchange->respond(overloaded());
}

int listen_on(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof address.sun_path) {
        throw std::runtime_error("cannot create the socket " + path);
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    unlink(path.c_str());
    // 0660: only the service and the web server's group may connect
    // (a crafted FastCGI record aborts libfcgi: nginx must be the only peer).
    const mode_t old = umask(0117);
    const int bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    umask(old);
    if (bound != 0 || listen(fd, 1024) != 0) {
        throw std::runtime_error("cannot listen on " + path + ": " + std::strerror(errno));
    }
    return fd;
}

}  // namespace

http::Request request_from_params(const std::function<const char*(const char*)>& param) {
    http::Request request;
    request.method = bounded(param("REQUEST_METHOD"));
    std::string uri = bounded(param("REQUEST_URI"));
    const auto question = uri.find('?');
    request.path = uri.substr(0, question);
    request.query = bounded(param("QUERY_STRING"));
    request.content_type = bounded(param("CONTENT_TYPE"));
    request.authorization = bounded(param("HTTP_AUTHORIZATION"));
    request.cookie = bounded(param("HTTP_COOKIE"));
    request.csrf = bounded(param("HTTP_X_ABRI_CSRF"));
    const std::string https = bounded(param("HTTPS"));
    request.https = !https.empty() && https != "off";
    return request;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

http::Response answer_failure(std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const http::Error& e) {
        return http::error_response(e);
    } catch (const store::Error& e) {
        log::line(std::string("database: ") + e.what());
        if (e.is_unavailable()) return overloaded();
    } catch (const std::exception& e) {
        log::line(std::string("internal error: ") + e.what());
    } catch (...) {
        log::line("internal error");
    }
    return http::error_response(500, "internal_error", "Une erreur interne est survenue. Réessayez dans un instant.");
}

int serve(const std::string& program, const Config& config, const std::function<Handler()>& setup) {
    log::set_program(program);
    umask(0077);
    // Signals go to one thread that stops the acceptor (see FIELD-NOTES:
    // libfcgi would otherwise swallow SIGTERM while accept() blocks).
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    if (FCGX_Init() != 0) {
        std::cerr << program << ": libfcgi failed to initialise\n";
        return 1;
    }

    int listen_fd = 0;
    try {
        if (!config.socket_path.empty()) listen_fd = listen_on(config.socket_path);
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
    const bool cgi = config.socket_path.empty() && FCGX_IsCGI();

    Jobs jobs;
    std::unique_ptr<longpoll::Waiters> waiters;
    Handler handler;
    try {
        store::Options options{config.db_path, config.synchronous_full};
        store::require_current_database(options);
        waiters = std::make_unique<longpoll::Waiters>(options, [&jobs](longpoll::Job job) {
            jobs.push(std::move(job));
        });
        handler = setup();
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }

    jobs.start([&](longpoll::Job job) { run_job(std::move(job), handler, *waiters); }, cgi ? 1 : config.threads);

    if (cgi) {
        std::promise<void> done;
        auto exchange = std::make_unique<CgiExchange>(done);
        auto answered = done.get_future();
        if (exchange->read()) {
            jobs.push(longpoll::Job{std::move(exchange), std::nullopt, false});
        } else {
            exchange->respond(too_large());
        }
        answered.wait();
    } else {
        std::atomic<bool> stopping = false;
        std::thread signals([&] {
            int signal_number = 0;
            sigwait(&stop_signals, &signal_number);
            stopping = true;
            shutdown(listen_fd, SHUT_RDWR);
        });
        signals.detach();
        while (!stopping) {
            auto exchange = std::make_unique<FcgiExchange>(listen_fd);
            if (!exchange->accept()) {
                if (stopping) break;
                // EMFILE and the like: say so, give the system a moment, go on.
                log::line(std::string("accept failed: ") + std::strerror(errno));
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            if (!exchange->read()) {
                exchange->respond(too_large());
                continue;
            }
            if (auto refused = jobs.try_push(longpoll::Job{std::move(exchange), std::nullopt, false})) {
                refused->exchange->respond(overloaded());
            }
        }
    }
    waiters->stop();
    jobs.close();
    return 0;
}

}  // namespace abri::server
