/* abri's load client: raw HTTP/1.1 on loopback, one thread, epoll, bounded
 * in time and in count. Written for `make bench` (tests/bench/bench.py
 * drives it); prints one JSON object on standard output, including the CPU
 * time it used itself, so that a saturated client never goes unnoticed.
 *
 *   load rate     -p PORT -f REQS [-c CONNS] [-d SECONDS] [-n COUNT] [--once]
 *                 [-a PER_ADDRESS] [-o BODIES]
 *       CONNS keep-alive connections send the requests of REQS (raw HTTP
 *       requests separated by NUL bytes) round robin, each waiting for its
 *       answer before the next, until SECONDS or COUNT (--once: each request
 *       once). -o writes "index status body" per answer. SIGINT or SIGTERM
 *       stops it early, with the summary.
 *   load pingpong -p PORT --poll TEMPLATE --send REQ -n SAMPLES --after N
 *                 [--key id|cursor] [--gap-ms MS]
 *       One long-poll at a time (TEMPLATE with {AFTER} in it), then, once it
 *       waits, one send; the latency is from the send's answer to the poll's.
 *       The next {AFTER} is the send's "id" (--key id) or the poll's
 *       "cursor" (--key cursor).
 *   load park     -p PORT --polls REQS --wakes REQS [-a PER_ADDRESS]
 *                 [-w WAKE_CONNS] [-r RAMP_PER_SECOND] [--settle-ms MS]
 *       Opens one connection per poll of REQS and sends it (at most RAMP a
 *       second), waits, prints "parked N" and reads a line on standard
 *       input; then sends wake i on WAKE_CONNS keep-alive connections and
 *       times each poll i from the answer to its wake.
 *
 * Connections leave from 127.1.x.y, PER_ADDRESS connections per address,
 * as distinct visitors would (nginx limits connections per address).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESPONSE (1 << 20)      /* an answer larger than this is an error */
#define MAX_SAMPLES (20 * 1000 * 1000)
#define POLL_TIMEOUT_S 45.0         /* a long-poll waits 30 s at most */

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests ----------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} Req;

typedef struct {
    Req *items;
    size_t count;
} ReqList;

static ReqList load_requests(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    fstat(fileno(f), &st);
    char *all = malloc((size_t)st.st_size + 1);
    if (fread(all, 1, (size_t)st.st_size, f) != (size_t)st.st_size) die("cannot read %s", path);
    fclose(f);
    all[st.st_size] = 0;
    ReqList list = {0, 0};
    size_t cap = 1024;
    list.items = malloc(cap * sizeof(Req));
    size_t start = 0;
    for (size_t i = 0; i <= (size_t)st.st_size; ++i) {
        if (i == (size_t)st.st_size || all[i] == 0) {
            if (i > start) {
                if (list.count == cap) list.items = realloc(list.items, (cap *= 2) * sizeof(Req));
                list.items[list.count++] = (Req){all + start, i - start};
            }
            start = i + 1;
        }
    }
    if (list.count == 0) die("%s holds no request", path);
    return list;
}

/* ---- HTTP answers ------------------------------------------------------- */

typedef struct {
    int status;
    int close;          /* Connection: close */
    size_t total;       /* bytes of the whole answer */
    char *body;         /* decoded body (malloc'd), NUL-terminated */
    size_t body_len;
} Answer;

static const char *find_header(const char *head, size_t head_len, const char *name) {
    size_t n = strlen(name);
    for (const char *p = head; p + n < head + head_len; ++p) {
        if ((p == head || p[-1] == '\n') && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') ++v;
            return v;
        }
    }
    return NULL;
}

/* 1: a whole answer is in buf (filled in *a), 0: not yet, -1: malformed. */
static int parse_answer(const char *buf, size_t len, Answer *a, int want_body) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len > 65536 ? -1 : 0;
    size_t head_len = (size_t)(end - buf) + 4;
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0) return -1;
    a->status = atoi(buf + 9);
    const char *conn = find_header(buf, head_len, "Connection");
    a->close = conn && strncasecmp(conn, "close", 5) == 0;
    const char *te = find_header(buf, head_len, "Transfer-Encoding");
    const char *cl = find_header(buf, head_len, "Content-Length");
    a->body = NULL;
    a->body_len = 0;
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        size_t pos = head_len;
        char *body = want_body ? malloc(len + 1) : NULL;
        size_t blen = 0;
        for (;;) {
            const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
            if (!eol) { free(body); return 0; }
            size_t size = strtoul(buf + pos, NULL, 16);
            size_t data = (size_t)(eol - buf) + 2;
            if (data + size + 2 > len) { free(body); return 0; }
            if (body) memcpy(body + blen, buf + data, size);
            blen += size;
            pos = data + size + 2;
            if (size == 0) break;
        }
        a->total = pos;
        if (body) { body[blen] = 0; a->body = body; a->body_len = blen; }
        return 1;
    }
    size_t clen = cl ? strtoul(cl, NULL, 10) : 0;
    if (a->status == 204 || a->status == 304) clen = 0;
    if (head_len + clen > MAX_RESPONSE) return -1;
    if (len < head_len + clen) return 0;
    a->total = head_len + clen;
    if (want_body) {
        a->body = malloc(clen + 1);
        memcpy(a->body, buf + head_len, clen);
        a->body[clen] = 0;
        a->body_len = clen;
    }
    return 1;
}

/* The integer after "key": in a JSON text, the last occurrence; -1 if none. */
static long long json_last_int(const char *text, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    long long value = -1;
    for (const char *p = strstr(text, pattern); p; p = strstr(p + 1, pattern)) {
        value = strtoll(p + strlen(pattern), NULL, 10);
    }
    return value;
}

/* ---- sockets ------------------------------------------------------------ */

static int port;
static int per_address = 32;

static int open_connection(long index, int blocking) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    long k = index / per_address;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | ((uint32_t)(k / 250) << 8) | (uint32_t)(k % 250 + 1));
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) { close(fd); return -1; }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(0x7f000001);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) { close(fd); return -1; }
    return fd;
}

/* ---- statistics --------------------------------------------------------- */

typedef struct {
    double *v;
    size_t n, cap;
} Samples;

static void add_sample(Samples *s, double x) {
    if (s->n == s->cap) {
        if (s->cap >= MAX_SAMPLES) return;
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(double));
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(Samples *s, double p) {
    if (s->n == 0) return 0;
    double rank = p / 100.0 * (double)(s->n - 1);
    size_t i = (size_t)rank;
    return s->v[i];
}

static void print_latency(const char *name, Samples *s) {
    qsort(s->v, s->n, sizeof(double), cmp_double);
    printf("\"%s\":{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", name, s->n,
           percentile(s, 50) * 1e3, percentile(s, 90) * 1e3, percentile(s, 99) * 1e3,
           s->n ? s->v[s->n - 1] * 1e3 : 0.0);
}

static int statuses[600];

static void print_statuses(void) {
    printf("\"status\":{");
    int first = 1;
    for (int i = 0; i < 600; ++i) {
        if (statuses[i]) { printf("%s\"%d\":%d", first ? "" : ",", i, statuses[i]); first = 0; }
    }
    printf("}");
}

static void print_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\"cpu_s\":{\"user\":%.3f,\"sys\":%.3f}", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
}

/* ---- one connection of the epoll modes ---------------------------------- */

typedef struct {
    int fd;
    long id;            /* index for the source address */
    const Req *req;     /* in flight, or NULL */
    long req_index;
    size_t sent;
    char *in;
    size_t in_len, in_cap;
    double started;     /* when the request was first written */
    int connected;
    int role;           /* park mode: 0 poll, 1 wake */
} Conn;

static int epfd;

static void watch(Conn *c, uint32_t events, int add) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev);
}

static int conn_open(Conn *c) {
    c->fd = open_connection(c->id, 0);
    if (c->fd < 0) return -1;
    c->connected = 0;
    c->in_len = 0;
    watch(c, EPOLLOUT | EPOLLIN, 1);
    return 0;
}

static void conn_close(Conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static void conn_start(Conn *c, const Req *req, long index) {
    c->req = req;
    c->req_index = index;
    c->sent = 0;
    c->started = now_s();
    watch(c, EPOLLOUT | EPOLLIN, 0);
}

/* Writes what it can; 0 on success, -1 on error. */
static int conn_write(Conn *c) {
    while (c->req && c->sent < c->req->len) {
        ssize_t n = send(c->fd, c->req->data + c->sent, c->req->len - c->sent, MSG_NOSIGNAL);
        if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        c->sent += (size_t)n;
    }
    if (c->req && c->sent == c->req->len) watch(c, EPOLLIN, 0);
    return 0;
}

/* Reads what is there; 1 when a whole answer is in, 0 not yet, -1 error or closed. */
static int conn_read(Conn *c, Answer *a, int want_body) {
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 32768;
            if (c->in_cap > 2 * MAX_RESPONSE) return -1;
            c->in = realloc(c->in, c->in_cap);
        }
        const size_t space = c->in_cap - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, space, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return -1;
        }
        c->in_len += (size_t)n;
        if ((size_t)n < space) break;
    }
    int r = parse_answer(c->in, c->in_len, a, want_body);
    if (r == 1) {
        memmove(c->in, c->in + a->total, c->in_len - a->total);
        c->in_len -= a->total;
    }
    if (r == 0) {
        /* the peer closed before a whole answer? */
        char probe;
        ssize_t n = recv(c->fd, &probe, 1, MSG_PEEK);
        if (n == 0) return -1;
    }
    return r;
}

/* ---- rate --------------------------------------------------------------- */

static int mode_rate(int argc, char **argv) {
    const char *reqs_path = NULL, *bodies_path = NULL;
    int conns = 16, once = 0;
    double seconds = 10;
    long max_count = -1;
    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") && v) port = atoi(argv[++i]);
        else if (!strcmp(a, "-f") && v) reqs_path = argv[++i];
        else if (!strcmp(a, "-c") && v) conns = atoi(argv[++i]);
        else if (!strcmp(a, "-d") && v) seconds = atof(argv[++i]);
        else if (!strcmp(a, "-n") && v) max_count = atol(argv[++i]);
        else if (!strcmp(a, "-a") && v) per_address = atoi(argv[++i]);
        else if (!strcmp(a, "-o") && v) bodies_path = argv[++i];
        else if (!strcmp(a, "--once")) once = 1;
        else die("rate: unknown argument %s", a);
    }
    if (!port || !reqs_path) die("rate: -p and -f are needed");
    ReqList reqs = load_requests(reqs_path);
    if (once && (max_count < 0 || max_count > (long)reqs.count)) max_count = (long)reqs.count;
    if (max_count >= 0 && conns > max_count) conns = (int)(max_count > 0 ? max_count : 1);
    FILE *bodies = bodies_path ? fopen(bodies_path, "w") : NULL;
    if (bodies_path && !bodies) die("cannot write %s", bodies_path);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    Conn *cs = calloc((size_t)conns, sizeof(Conn));
    long next = 0, completed = 0, errors = 0, reconnects = 0;
    Samples lat = {0};
    const double start = now_s(), stop_at = start + seconds;
    for (int i = 0; i < conns; ++i) {
        cs[i].id = i;
        if (conn_open(&cs[i]) != 0) die("cannot connect to port %d: %s", port, strerror(errno));
        conn_start(&cs[i], &reqs.items[next % (long)reqs.count], next);
        ++next;
    }
    int active = conns;
    struct epoll_event events[256];
    while (active > 0 && !interrupted) {
        double left = stop_at - now_s();
        if (left <= 0) break;
        int n = epoll_wait(epfd, events, 256, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        for (int e = 0; e < n; ++e) {
            Conn *c = events[e].data.ptr;
            if (!c->req) continue;
            int failed = 0;
            if (events[e].events & EPOLLOUT) failed = conn_write(c) != 0;
            Answer a;
            int r = failed ? -1 : 0;
            if (!failed && (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) r = conn_read(c, &a, bodies != NULL);
            if (r == 0) continue;
            double t = now_s();
            int reopen = 0;
            if (r < 0) {
                ++errors;
                reopen = 1;
            } else {
                ++completed;
                add_sample(&lat, t - c->started);
                if (a.status >= 0 && a.status < 600) statuses[a.status]++;
                if (bodies) {
                    for (size_t k = 0; k < a.body_len; ++k) if (a.body[k] == '\n') a.body[k] = ' ';
                    fprintf(bodies, "%ld %d %s\n", c->req_index, a.status, a.body ? a.body : "");
                    free(a.body);
                }
                reopen = a.close;
            }
            c->req = NULL;
            if (reopen) {
                conn_close(c);
                ++reconnects;
            }
            if ((max_count >= 0 && next >= max_count) || t >= stop_at) {
                conn_close(c);
                --active;
                continue;
            }
            if (c->fd < 0 && conn_open(c) != 0) { ++errors; --active; continue; }
            conn_start(c, &reqs.items[next % (long)reqs.count], next);
            ++next;
        }
    }
    const double elapsed = now_s() - start;
    if (bodies) fclose(bodies);
    /* The oldest request still without an answer at the end: a latency
     * that the samples never see when the server holds requests. */
    double pending = 0;
    for (int i = 0; i < conns; ++i) {
        if (cs[i].req && now_s() - cs[i].started > pending) pending = now_s() - cs[i].started;
    }
    printf("{\"mode\":\"rate\",\"connections\":%d,\"completed\":%ld,\"errors\":%ld,\"reconnects\":%ld,"
           "\"oldest_pending_ms\":%.1f,\"seconds\":%.3f,\"rps\":%.1f,",
           conns, completed, errors, reconnects, pending * 1000, elapsed, (double)completed / elapsed);
    print_statuses();
    printf(",");
    print_latency("latency_ms", &lat);
    printf(",");
    print_cpu();
    printf("}\n");
    return 0;
}

/* ---- pingpong: blocking sockets, one exchange at a time ----------------- */

typedef struct {
    int fd;
    char *in;
    size_t in_len, in_cap;
    long id;
} Link;

static void link_open(Link *l) {
    l->fd = open_connection(l->id, 1);
    if (l->fd < 0) die("cannot connect to port %d: %s", port, strerror(errno));
    l->in_len = 0;
}

static void link_send(Link *l, const char *data, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t n = send(l->fd, data + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("send: %s", strerror(errno));
        }
        off += (size_t)n;
    }
}

/* Reads what is available (the caller polled); 1 with a whole answer. */
static int link_read(Link *l, Answer *a) {
    if (l->in_cap - l->in_len < 16384) {
        l->in_cap = l->in_cap ? l->in_cap * 2 : 65536;
        l->in = realloc(l->in, l->in_cap);
    }
    ssize_t n = recv(l->fd, l->in + l->in_len, l->in_cap - l->in_len, 0);
    if (n <= 0) die("the server closed a connection (%s)", n < 0 ? strerror(errno) : "end of file");
    l->in_len += (size_t)n;
    int r = parse_answer(l->in, l->in_len, a, 1);
    if (r < 0) die("malformed answer");
    if (r == 1) {
        memmove(l->in, l->in + a->total, l->in_len - a->total);
        l->in_len -= a->total;
        if (a->close) { close(l->fd); link_open(l); }
    }
    return r;
}

static char *read_file(const char *path) {
    ReqList l = load_requests(path);
    return l.items[0].data;
}

static int mode_pingpong(int argc, char **argv) {
    const char *poll_path = NULL, *send_path = NULL, *key = "id";
    long samples = 1000;
    long long after = -1;
    double gap_ms = 3;
    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") && v) port = atoi(argv[++i]);
        else if (!strcmp(a, "--poll") && v) poll_path = argv[++i];
        else if (!strcmp(a, "--send") && v) send_path = argv[++i];
        else if (!strcmp(a, "-n") && v) samples = atol(argv[++i]);
        else if (!strcmp(a, "--after") && v) after = atoll(argv[++i]);
        else if (!strcmp(a, "--key") && v) key = argv[++i];
        else if (!strcmp(a, "--gap-ms") && v) gap_ms = atof(argv[++i]);
        else die("pingpong: unknown argument %s", a);
    }
    if (!port || !poll_path || !send_path || after < 0) die("pingpong: -p, --poll, --send and --after are needed");
    const int key_is_id = strcmp(key, "id") == 0;
    const char *poll_template = read_file(poll_path);
    const char *send_req = read_file(send_path);
    const char *mark = strstr(poll_template, "{AFTER}");
    if (!mark) die("the poll template has no {AFTER}");
    Link poller = {.id = 0}, sender = {.id = 1};
    link_open(&poller);
    link_open(&sender);
    Samples from_answer = {0}, from_start = {0};
    long early = 0, bad = 0;
    char request[16384];
    const double start = now_s();
    for (long s = 0; s < samples && !interrupted; ++s) {
        int len = snprintf(request, sizeof request, "%.*s%lld%s", (int)(mark - poll_template), poll_template, after,
                           mark + strlen("{AFTER}"));
        link_send(&poller, request, (size_t)len);
        /* Give the poll time to reach its program and be parked. */
        struct timespec gap = {0, (long)(gap_ms * 1e6)};
        nanosleep(&gap, NULL);
        const double t0 = now_s();
        link_send(&sender, send_req, strlen(send_req));
        double t_sent = 0, t_polled = 0;
        long long next_after = -1;
        while (t_sent == 0 || t_polled == 0) {
            struct pollfd fds[2] = {{poller.fd, POLLIN, 0}, {sender.fd, POLLIN, 0}};
            int n = poll(fds, 2, (int)(POLL_TIMEOUT_S * 1000));
            if (n <= 0) die("no answer within %.0f s", POLL_TIMEOUT_S);
            Answer a;
            if (t_polled == 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && link_read(&poller, &a) == 1) {
                t_polled = now_s();
                if (a.status != 200) ++bad;
                if (!key_is_id) next_after = json_last_int(a.body, "cursor");
                free(a.body);
            }
            if (t_sent == 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && link_read(&sender, &a) == 1) {
                t_sent = now_s();
                if (a.status != 201) ++bad;
                if (key_is_id) next_after = json_last_int(a.body, "id");
                free(a.body);
            }
        }
        if (t_polled < t_sent) ++early;
        add_sample(&from_answer, t_polled - t_sent);
        add_sample(&from_start, t_polled - t0);
        if (next_after < 0) die("no \"%s\" in an answer", key);
        after = next_after;
    }
    const double elapsed = now_s() - start;
    printf("{\"mode\":\"pingpong\",\"samples\":%zu,\"bad\":%ld,\"poll_first\":%ld,\"seconds\":%.3f,", from_answer.n, bad,
           early, elapsed);
    print_latency("after_send_answer_ms", &from_answer);
    printf(",");
    print_latency("after_send_start_ms", &from_start);
    printf(",");
    print_cpu();
    printf("}\n");
    return 0;
}

/* ---- park --------------------------------------------------------------- */

static int mode_park(int argc, char **argv) {
    const char *polls_path = NULL, *wakes_path = NULL;
    int wake_conns = 16;
    double ramp = 5000, settle_ms = 1000;
    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") && v) port = atoi(argv[++i]);
        else if (!strcmp(a, "--polls") && v) polls_path = argv[++i];
        else if (!strcmp(a, "--wakes") && v) wakes_path = argv[++i];
        else if (!strcmp(a, "-a") && v) per_address = atoi(argv[++i]);
        else if (!strcmp(a, "-w") && v) wake_conns = atoi(argv[++i]);
        else if (!strcmp(a, "-r") && v) ramp = atof(argv[++i]);
        else if (!strcmp(a, "--settle-ms") && v) settle_ms = atof(argv[++i]);
        else die("park: unknown argument %s", a);
    }
    if (!port || !polls_path || !wakes_path) die("park: -p, --polls and --wakes are needed");
    ReqList polls = load_requests(polls_path), wakes = load_requests(wakes_path);
    if (wakes.count != polls.count) die("park: as many wakes as polls are needed");
    const long n = (long)polls.count;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    Conn *pc = calloc((size_t)n, sizeof(Conn));
    Conn *wc = calloc((size_t)wake_conns, sizeof(Conn));
    double *woken_at = calloc((size_t)n, sizeof(double));   /* poll answered */
    double *sent_at = calloc((size_t)n, sizeof(double));    /* its wake's answer */
    double *wake_start = calloc((size_t)n, sizeof(double));
    int *poll_status = calloc((size_t)n, sizeof(int));
    int *delivered = calloc((size_t)n, sizeof(int));
    long early = 0, conn_errors = 0, wake_errors = 0, answered = 0;
    struct epoll_event events[256];

    /* Phase 1: every poll on its own connection, at most `ramp` a second.
     * Nothing should answer before its wake: an answer now is "early". */
    const double t_begin = now_s();
    long opened = 0;
    double settle_until = 0;
    while (!interrupted) {
        while (opened < n && now_s() >= t_begin + (double)opened / ramp) {
            Conn *c = &pc[opened];
            c->id = 1000 + opened;  /* the first addresses are the wakes' */
            if (conn_open(c) != 0) { ++conn_errors; ++answered; woken_at[opened] = -1; ++opened; continue; }
            conn_start(c, &polls.items[opened], opened);
            ++opened;
        }
        if (opened == n && settle_until == 0) settle_until = now_s() + settle_ms / 1e3;
        if (settle_until != 0 && now_s() >= settle_until) break;
        int k = epoll_wait(epfd, events, 256, 1);
        for (int e = 0; e < k; ++e) {
            Conn *c = events[e].data.ptr;
            int r = 0;
            Answer a;
            if (events[e].events & EPOLLOUT) r = conn_write(c);
            if (r == 0 && (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) r = conn_read(c, &a, 0);
            if (r == 0) continue;
            if (r == 1) {
                ++early;
                if (a.status < 600) poll_status[c->req_index] = a.status;
            } else {
                ++conn_errors;
            }
            ++answered;
            woken_at[c->req_index] = -1;
            conn_close(c);
            c->req = NULL;
        }
    }
    const double ramp_seconds = now_s() - t_begin - settle_ms / 1e3;
    printf("parked %ld\n", n - answered);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) die("park: no go on standard input");

    /* Phase 2: wake i answered, then poll i answered. */
    const double t_wake = now_s();
    long next_wake = 0, wakes_done = 0;
    for (int i = 0; i < wake_conns && next_wake < n; ++i) {
        wc[i].id = i;
        wc[i].role = 1;
        if (conn_open(&wc[i]) != 0) die("cannot connect: %s", strerror(errno));
        wake_start[next_wake] = now_s();
        conn_start(&wc[i], &wakes.items[next_wake], next_wake);
        ++next_wake;
    }
    const double deadline = now_s() + POLL_TIMEOUT_S;
    while (answered < n && now_s() < deadline && !interrupted) {
        int k = epoll_wait(epfd, events, 256, 100);
        for (int e = 0; e < k; ++e) {
            Conn *c = events[e].data.ptr;
            if (!c->req) continue;
            if (events[e].events & EPOLLOUT && conn_write(c) != 0) {
                if (c->role == 0) { ++conn_errors; ++answered; conn_close(c); c->req = NULL; }
                else die("a wake connection failed");
                continue;
            }
            if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            Answer a;
            int r = conn_read(c, &a, 1);
            if (r == 0) continue;
            const double t = now_s();
            if (c->role == 0) {
                const long i = c->req_index;
                ++answered;
                woken_at[i] = t;
                if (r == 1) {
                    poll_status[i] = a.status;
                    /* An empty list means the wait ran out before the wake. */
                    delivered[i] = a.status == 200 && strstr(a.body, "\"from\":\"agent\"") != NULL;
                    free(a.body);
                } else {
                    ++conn_errors;
                }
                conn_close(c);
                c->req = NULL;
                continue;
            }
            if (r < 0) die("a wake connection failed");
            sent_at[c->req_index] = t;
            ++wakes_done;
            if (a.status != 201) ++wake_errors;
            free(a.body);
            c->req = NULL;
            if (a.close) { conn_close(c); if (conn_open(c) != 0) die("cannot reconnect"); }
            if (next_wake < n) {
                wake_start[next_wake] = now_s();
                conn_start(c, &wakes.items[next_wake], next_wake);
                ++next_wake;
            }
        }
    }
    const double wake_seconds = now_s() - t_wake;
    Samples from_answer = {0}, from_start = {0};
    long ok = 0, late = 0, bad_status = 0, missing = 0;
    for (long i = 0; i < n; ++i) {
        if (woken_at[i] == 0) { ++missing; continue; }
        if (woken_at[i] < 0) continue;  /* answered early: counted above */
        if (poll_status[i] != 200) { ++bad_status; continue; }
        if (!delivered[i]) { ++late; continue; }
        ++ok;
        if (sent_at[i] > 0) add_sample(&from_answer, woken_at[i] - sent_at[i]);
        add_sample(&from_start, woken_at[i] - wake_start[i]);
    }
    for (long i = 0; i < n; ++i) if (poll_status[i] > 0 && poll_status[i] < 600) statuses[poll_status[i]]++;
    printf("{\"mode\":\"park\",\"polls\":%ld,\"delivered\":%ld,\"early\":%ld,\"empty\":%ld,\"bad_status\":%ld,"
           "\"missing\":%ld,\"connection_errors\":%ld,\"wake_errors\":%ld,\"wakes\":%ld,\"ramp_seconds\":%.3f,"
           "\"wake_seconds\":%.3f,",
           n, ok, early, late, bad_status, missing, conn_errors, wake_errors, wakes_done, ramp_seconds, wake_seconds);
    print_statuses();
    printf(",");
    print_latency("after_wake_answer_ms", &from_answer);
    printf(",");
    print_latency("after_wake_start_ms", &from_start);
    printf(",");
    print_cpu();
    printf("}\n");
    return 0;
}

int main(int argc, char **argv) {
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (argc < 2) die("usage: load rate|pingpong|park ... (see the comment at the top of load.c)");
    if (!strcmp(argv[1], "rate")) return mode_rate(argc, argv);
    if (!strcmp(argv[1], "pingpong")) return mode_pingpong(argc, argv);
    if (!strcmp(argv[1], "park")) return mode_park(argc, argv);
    die("unknown mode %s", argv[1]);
}
