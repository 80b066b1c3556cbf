#include "server.hpp"
#include "errors.hpp"
#include "limits.hpp"
#include "log.hpp"
#include "pool.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <iostream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace abri::server {

namespace {

std::string bounded(const char* value) {
    if (value == nullptr) return {};
    const std::size_t length = strnlen(value, limits::kMaxParamBytes + 1);
    return length > limits::kMaxParamBytes ? std::string{} : std::string(value, length);
}

using Clock = std::chrono::steady_clock;

// Writes `bytes` to the non-blocking `fd`, waiting for room until
// `deadline`. False when the peer went away or did not read in time.
bool write_until(int fd, std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty()) {
        const ssize_t n = write(fd, bytes.data(), bytes.size());
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd room{fd, POLLOUT, 0};
        if (poll(&room, 1, static_cast<int>(left)) < 0 && errno != EINTR) return false;
    }
    return true;
}

// An answer's FastCGI records, written by hand (FastCGI 1.0, section 5):
// its STDOUT in records of at most 65535 bytes, an empty STDOUT, then
// END_REQUEST (application status 0, REQUEST_COMPLETE). Each record's
// content is written from `out` itself: a large answer is not copied
// again (64 workers may each hold one).
void write_records(int fd, int request_id, std::string_view out, Clock::time_point deadline) {
    constexpr std::size_t kMaxContent = 65535;
    constexpr unsigned char kStdout = 6;
    constexpr unsigned char kEndRequest = 3;
    const auto record = [&](unsigned char type, std::string_view content) {
        const char header[8] = {1,
                                static_cast<char>(type),
                                static_cast<char>((request_id >> 8) & 0xff),
                                static_cast<char>(request_id & 0xff),
                                static_cast<char>((content.size() >> 8) & 0xff),
                                static_cast<char>(content.size() & 0xff),
                                0,
                                0};
        return write_until(fd, std::string_view(header, sizeof header), deadline) &&
               write_until(fd, content, deadline);
    };
    for (std::size_t at = 0; at < out.size(); at += kMaxContent) {
        if (!record(kStdout, out.substr(at, kMaxContent))) return;
    }
    if (record(kStdout, {})) record(kEndRequest, std::string_view("\0\0\0\0\0\0\0\0", 8));
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
        fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);  // for respond()
        return fits;
    }
    // The records are written without blocking, then the connection
    // closes (nginx keeps no FastCGI connection open: fastcgi_keep_conn
    // off). A peer that stops reading holds the worker at most
    // limits::kAnswerWriteMs, then loses its answer: nginx buffers whole
    // answers (abri-locations.conf), so only a peer that is not nginx, or
    // nginx out of buffers, ever waits. A client that went away makes the
    // write fail with EPIPE, which is ignored.
    void respond(const http::Response& response) override {
        write_records(fd_, request_id_, http::serialize(response),
                      Clock::now() + std::chrono::milliseconds(limits::kAnswerWriteMs));
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


// The steps of serve(), in order. Each throws a start-up failure as a
// std::runtime_error saying what went wrong.

// No core dump, no ptrace by another process of the same user: the
// memory holds chat text and tokens (libfcgi aborts on some crafted
// records; the units also set LimitCORE=0). Files made are the service's.
void harden_process() {
    umask(0077);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        throw std::runtime_error(std::string("cannot turn core dumps off: ") + std::strerror(errno));
    }
}

// SIGTERM and SIGINT are blocked in every thread, then taken by one
// (stop_on_signal): libfcgi would otherwise swallow SIGTERM while accept()
// blocks (FIELD-NOTES). Called before any thread starts, so that all
// inherit the mask. A client gone away is an EPIPE, not a signal.
sigset_t route_stop_signals() {
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    return stop_signals;
}

// The listening socket: --socket PATH, else standard input (systemd's
// socket units, spawn-fcgi), which FCGX_IsCGI() then tells from a CGI.
int open_listener(const Config& config) {
    if (FCGX_Init() != 0) throw std::runtime_error("libfcgi failed to initialise");
    return config.socket_path.empty() ? 0 : listen_on(config.socket_path);
}

bool started_as_cgi(const Config& config) { return config.socket_path.empty() && !started_under_fastcgi(); }

// What runs the requests: the handler, the parked polls and the workers.
struct Service {
    Handler handler;
    std::unique_ptr<longpoll::Waiters> waiters;
    pool::Jobs jobs;

    Service(const Config& config, bool cgi)
        : jobs([this](longpoll::Job job) { run_job(std::move(job), handler, *waiters); },
               {cgi ? 1 : static_cast<std::size_t>(config.threads), limits::kMaxQueued,
                std::chrono::seconds(config.worker_idle)}) {}

    // Refuses a database `abrictl init` did not bring to the schema
    // version, starts the watcher, then builds the handler.
    void start(const Config& config, const std::function<Handler()>& setup) {
        const store::Options database = config.database();
        store::require_current_database(database);
        waiters = std::make_unique<longpoll::Waiters>(database, [this](longpoll::Job job) { jobs.push(std::move(job)); });
        handler = setup();
    }

    // Parked polls are answered (as at their deadline), what is queued is
    // run, the workers leave.
    void shut_down() {
        waiters->stop();
        jobs.close();
    }
};

// CGI: the one request of the environment and standard input, answered
// by a worker like any other.
void answer_the_cgi_request(pool::Jobs& jobs) {
    std::promise<void> done;
    auto exchange = std::make_unique<CgiExchange>(done);
    auto answered = done.get_future();
    if (exchange->read()) {
        jobs.push(longpoll::Job{std::move(exchange), std::nullopt, false});
    } else {
        exchange->respond(too_large());
    }
    answered.wait();
}

// Waits for SIGTERM or SIGINT on a thread of its own, then shuts the
// listening socket down, which makes the acceptor's accept() fail.
void stop_on_signal(const sigset_t& stop_signals, int listen_fd, std::atomic<bool>& stopping) {
    std::thread([stop_signals, listen_fd, &stopping] {
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        stopping = true;
        shutdown(listen_fd, SHUT_RDWR);
    }).detach();
}

// The acceptor: reads each request whole and queues it, until stopped.
void accept_until_stopped(int listen_fd, const std::atomic<bool>& stopping, pool::Jobs& jobs) {
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

bool started_under_fastcgi() { return FCGX_IsCGI() == 0; }

int serve(const std::string& program, const Config& config, const std::function<Handler()>& setup) {
    log::set_program(program);
    std::atomic<bool> stopping = false;  // set by the signal thread before the acceptor can return
    try {
        harden_process();
        const sigset_t stop_signals = route_stop_signals();
        const int listen_fd = open_listener(config);
        const bool cgi = started_as_cgi(config);
        Service service(config, cgi);
        service.start(config, setup);
        if (cgi) {
            answer_the_cgi_request(service.jobs);
        } else {
            stop_on_signal(stop_signals, listen_fd, stopping);
            accept_until_stopped(listen_fd, stopping, service.jobs);
        }
        service.shut_down();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace abri::server
