#!/usr/bin/env python3
"""make bench: abri's performance, side by side with the machine's limits.

Starts the real stack (deploy/dev/stack.sh: nginx + the FastCGI programs +
SQLite) on loopback and measures, in one run:

  0. the machine: raw SQLite commits a second (synchronous FULL and NORMAL)
  1. ceiling: a minimal libfcgi program (tests/bench/ceiling.c, 1 and 4
     threads) behind the same nginx, and nginx serving a small static file
  2. send: POST /api/messages a second over many sessions, FULL and NORMAL
  3. wake latency, one at a time: operator -> waiting visitor, and back
  4. long-poll capacity: WAITERS visitors waiting at once, each woken by its
     own operator message; memory of the programs and of nginx meanwhile
  5. idle footprint of every program after start and after the load
  6. purge of 100,000 expired sessions holding 1,000,000 messages, with
     sends running
  7. plain CGI (fcgiwrap, a process per request): POST /api/session
  8. under attack, the stack pinned to one core (taskset): other visitors'
     sends and the programs' memory while 640 slow readers hang on a large
     poll answer, and while a flood of new sessions runs (issue 13)

The load comes from tests/bench/load.c (epoll, raw sockets); every figure
says how much CPU the client used. Prints a table, writes
var/bench/results.json. `bench.py under-attack` runs section 8 alone;
`bench.py browser-cost` prints what Chromium's operations cost here
(tests/browser/cost/measure.mjs), which is most of `make test`'s time.
Settings: BENCH_QUICK=1 (shorter, smaller: to try
the bench itself), BENCH_WAITERS (default 5000).
"""
import array
import http.client
import json
import os
import resource
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ABRI_BIN", os.path.join(ROOT, "bin"))
TOOLS = os.environ.get("BENCH_TOOLS", os.path.join(ROOT, "build", "bench"))
OUT = os.path.join(ROOT, "var", "bench")
LOAD = os.path.join(TOOLS, "load")
QUICK = os.environ.get("BENCH_QUICK") == "1"
WAITERS = int(os.environ.get("BENCH_WAITERS", "500" if QUICK else "5000"))
SECONDS = 2 if QUICK else 6          # each throughput run
SAMPLES = 200 if QUICK else 1000     # each wake-latency direction
PURGE_SESSIONS = 10000 if QUICK else 100000
PURGE_MESSAGES_EACH = 10
CONNECTIONS = 128                    # throughput runs, ceiling and abri alike
PROGRAMS = ("session", "messages", "agent", "admin")
# Under attack (8/7): the stack on STACK_CPU, the clients on the other.
STACK_CPU, CLIENT_CPU = "0", "1"
SLOW_ADDRESSES, SLOW_EACH = 10, 64   # nginx's connections per address (limit_conn)
SLOW_MESSAGES, SLOW_BYTES = 500, 8000
WORK_AFTER = 120                     # limits::kDefaultWorkAfter, the production threshold
ATTACK_VISITORS = 100                # under it: the other visitors' sessions are free
ATTACK_SENDERS = 8                   # connections of the other visitors, one send at a time each
FLOOD_CONNECTIONS = 64
TEXT = "Bonjour, j'ai besoin d'aide. Il est rentré et il crie encore."


def say(text):
    print("bench: " + text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the stack ---------------------------------------------------------------

class Stack:
    """deploy/dev/stack.sh on a free port, its database under var/bench."""

    def __init__(self, name, env=None, bin_dir=BIN, www=None, cpus=None):
        self.name = name
        self.cpus = cpus
        self.dir = os.path.join(OUT, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)  # nginx's workers (www-data) reach the sockets
        self.db = os.path.join(self.dir, "db", "abri.db")
        self.prefix = os.path.join(self.dir, "stack")
        self.port = free_port()
        self.bin = bin_dir
        env_all = {k: v for k, v in os.environ.items() if not k.startswith("ABRI_")}
        # The measures open thousands of sessions a minute and send a
        # thousand messages in a row on one session (the wake latency): no
        # proof of work (lib/work.hpp) and no per-session send rate
        # (ABRI_SEND_BURST), but where a stack sets its own.
        env_all.update({"PORT": str(self.port), "PREFIX": self.prefix, "ABRI_DB": self.db, "BIN": bin_dir,
                        "SESSION_RATE": "100000r/s", "ABRI_WORK_AFTER": "1000000", "ABRI_SEND_BURST": "1000000"})
        if www:
            env_all["WWW"] = www
        env_all.update(env or {})
        self.env = env_all
        self.process = None

    def start(self):
        self.log_path = os.path.join(self.dir, "stack.log")
        self.log = open(self.log_path, "w")
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        self.process = subprocess.Popen(pin + [os.path.join(ROOT, "deploy", "dev", "stack.sh"), "--demo"],
                                        env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            if self.process.poll() is not None:
                raise RuntimeError("stack.sh exited: " + text)
            if "ready on" in text:
                return self
            time.sleep(0.05)
        raise RuntimeError("the stack did not start: " + open(self.log_path).read())

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        restarts = open(self.log_path).read().count("starting it again")
        if restarts:
            raise RuntimeError("%s: a program died and was restarted %d times (see %s)"
                               % (self.name, restarts, self.log_path))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def processes(self):
        """{'abri': [pids], 'nginx': [pids]} of this stack's session."""
        found = {"abri": [], "nginx": []}
        programs = {os.path.realpath(os.path.join(self.bin, p)) for p in PROGRAMS}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[3]) != self.process.pid:  # session id
                    continue
                # A program rebuilt during the run reads "... (deleted)".
                exe = os.readlink("/proc/%s/exe" % entry).removesuffix(" (deleted)")
            except (OSError, ValueError):
                continue
            if exe in programs:
                found["abri"].append(int(entry))
            elif os.path.basename(exe) == "nginx":
                found["nginx"].append(int(entry))
        return found

    def memory(self):
        """Resident memory in MiB of the abri programs and of nginx: the
        pages they hold together (each physical page once), the sum of
        their RSS (shared libraries counted once per process) and of their
        PSS."""
        result = {}
        for group, pids in self.processes().items():
            rss = pss = 0
            each = {}
            for pid in pids:
                r, p = memory_of(pid)
                rss += r
                pss += p
                name = os.path.basename(os.readlink("/proc/%d/exe" % pid)).split()[0] if group == "abri" else "nginx"
                each["%s[%d]" % (name, pid)] = round(r / 1024, 2)
            together = distinct_pages(pids)
            result[group] = {"together_mib": round(together / 1024, 2) if together is not None else None,
                             "rss_sum_mib": round(rss / 1024, 2), "pss_mib": round(pss / 1024, 2),
                             "processes": len(pids), "rss_each_mib": each}
        return result

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def demo_operator(self):
        with open(os.path.join(os.path.dirname(self.db), "demo-operator.txt")) as f:
            pairs = dict(line.strip().split("=", 1) for line in f if "=" in line)
        return pairs["username"], pairs["password"]

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        parsed = json.loads(payload) if payload and response.getheader("Content-Type", "").startswith(
            "application/json") else payload
        return response.status, parsed, response

    def sql(self, statement, *params):
        with sqlite3.connect(self.db, timeout=30) as db:
            return db.execute(statement, params).fetchall()


def distinct_pages(pids):
    """KiB of the distinct physical pages mapped by these processes (their
    RSS together, a shared page once), from /proc/PID/pagemap; None where
    the page frames cannot be read (not root)."""
    frames = set()
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for pid in pids:
        try:
            with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/pagemap" % pid, "rb") as pagemap:
                for line in maps:
                    start, end = (int(x, 16) for x in line.split()[0].split("-"))
                    if line.rstrip().endswith("[vsyscall]"):
                        continue
                    first, count = start // (page_kib * 1024), (end - start) // (page_kib * 1024)
                    pagemap.seek(first * 8)
                    entries = array.array("Q", pagemap.read(count * 8))
                    for entry in entries:
                        if entry >> 63:  # present
                            frame = entry & ((1 << 55) - 1)
                            if frame == 0:
                                return None  # frames hidden: not root
                            frames.add(frame)
        except OSError:
            continue
    return len(frames) * page_kib


def memory_of(pid):
    """(RSS, PSS) in KiB; PSS is 0 where smaps_rollup cannot be read."""
    rss = pss = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


# -- requests and the load client -------------------------------------------

def request(method, path, headers=(), body=None):
    """One raw HTTP/1.1 request (keep-alive)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    lines += ["%s: %s" % h for h in headers]
    data = b""
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        lines += ["Content-Type: application/json", "Content-Length: %d" % len(data)]
    elif method == "POST":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def write_requests(name, requests):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(b"\0".join(requests))
    return path


def load(*args, stdin=None, cpus=None):
    """Runs the load client (on `cpus` when given); returns its JSON summary."""
    pin = ["taskset", "-c", cpus] if cpus else []
    done = subprocess.run(pin + [LOAD, *map(str, args)], capture_output=True, text=True, input=stdin)
    if done.returncode != 0:
        raise RuntimeError("load %s failed: %s" % (args[0], done.stderr))
    return json.loads(done.stdout.strip().splitlines()[-1])


def client_cpu(summary, seconds=None):
    cpu = summary["cpu_s"]["user"] + summary["cpu_s"]["sys"]
    return {"cpu_s": round(cpu, 2), "share_of_one_core": round(cpu / (seconds or summary["seconds"]), 2)}


def once(stack, name, requests, connections=32):
    """Sends each request once; returns [(status, body)] in order."""
    path = write_requests(name + ".req", requests)
    bodies = os.path.join(OUT, name + ".out")
    # Four connections an address: nginx's per-address burst (20) is never
    # reached, whatever the rate SESSION_RATE allows.
    summary = load("rate", "-p", stack.port, "-f", path, "--once", "-c", connections, "-a", 4, "-d", 300,
                   "-o", bodies)
    answers = {}
    with open(bodies) as f:
        for line in f:
            index, status, body = line.rstrip("\n").split(" ", 2)
            answers[int(index)] = (int(status), json.loads(body) if body.startswith("{") else body)
    missing = len(requests) - len(answers)
    if missing or summary["errors"]:
        raise RuntimeError("%s: %d requests unanswered, %d errors" % (name, missing, summary["errors"]))
    return [answers[i] for i in range(len(requests))]


def open_sessions(stack, count, name):
    """count sessions; returns [(token, public id)]."""
    create = request("POST", "/api/session", body={"postcode": "75011", "role": "victim"})
    answers = once(stack, name, [create] * count)
    bad = [a for a in answers if a[0] != 201]
    if bad:
        raise RuntimeError("%s: POST /api/session answered %r" % (name, bad[:3]))
    return [(body["token"], body["session"]) for _, body in answers]


def send_request(token):
    return request("POST", "/api/messages", [("Authorization", "Bearer " + token)], {"text": TEXT})


class Operator:
    def __init__(self, stack, user=None, password=None):
        if user is None:
            user, password = stack.demo_operator()
        status, body, response = stack.call("POST", "/api/agent/login", {"username": user, "password": password})
        if status != 200:
            raise RuntimeError("login answered %d %r" % (status, body))
        self.csrf = body["csrf"]
        # The login cookie, not the known-browser one sent beside it.
        self.cookie = next(c for c in response.msg.get_all("Set-Cookie")
                           if c.split("=", 1)[0].endswith("abri_agent")).split(";", 1)[0]
        self.headers = [("Cookie", self.cookie), ("X-Abri-CSRF", self.csrf)]

    def claim(self, public_id):
        return request("POST", "/api/agent/sessions/%s/claim" % public_id, self.headers)

    def reply(self, public_id, text):
        return request("POST", "/api/agent/sessions/%s/messages" % public_id, self.headers, {"text": text})

    def events(self, after="{AFTER}"):
        return request("GET", "/api/agent/events?after=%s&wait=30" % after, [("Cookie", self.cookie)])


def claim_all(stack, operator, sessions, name):
    answers = once(stack, name, [operator.claim(public_id) for _, public_id in sessions])
    bad = [a for a in answers if a[0] != 200]
    if bad:
        raise RuntimeError("%s: claim answered %r" % (name, bad[:3]))


# -- the measures ------------------------------------------------------------

def machine_commits():
    """Raw SQLite: one row per transaction, WAL, as abri opens the database."""
    result = {}
    for mode in ("FULL", "NORMAL"):
        path = os.path.join(OUT, "raw-%s.db" % mode.lower())
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=" + mode)
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)")
        count = 0
        start = time.monotonic()
        while time.monotonic() - start < (0.5 if QUICK else 1.5):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (text) VALUES (?)", (TEXT,))
            db.execute("COMMIT")
            count += 1
        result[mode] = round(count / (time.monotonic() - start))
        db.close()
    return result


def ceiling():
    """The minimal libfcgi program as every program of a stack, and a
    small static file, behind the same nginx configuration."""
    fake_bin = os.path.join(OUT, "ceiling-bin")
    shutil.rmtree(fake_bin, ignore_errors=True)
    os.makedirs(fake_bin)
    os.symlink(os.path.join(BIN, "abrictl"), os.path.join(fake_bin, "abrictl"))
    for name in PROGRAMS:
        os.symlink(os.path.join(TOOLS, "ceiling"), os.path.join(fake_bin, name))
    www = os.path.join(OUT, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "small.txt"), "w") as f:
        f.write("abri bench: a small static file.\n")
    results = {}
    # The same request as a send: same location, headers and body size.
    post = send_request(secrets.token_urlsafe(32))
    post_file = write_requests("ceiling.req", [post])
    static_file = write_requests("static.req", [request("GET", "/small.txt")])
    for threads in (1, 4):
        with Stack("ceiling-%d" % threads, {"ABRI_THREADS": str(threads)}, bin_dir=fake_bin, www=www) as stack:
            summary = load("rate", "-p", stack.port, "-f", post_file, "-c", CONNECTIONS, "-d", SECONDS)
            check_statuses(summary, {201}, "ceiling")
            results["fastcgi_%d_thread%s" % (threads, "s" if threads > 1 else "")] = summarise_rate(summary)
            if threads == 4:
                summary = load("rate", "-p", stack.port, "-f", static_file, "-c", CONNECTIONS, "-d", SECONDS)
                check_statuses(summary, {200}, "static")
                results["nginx_static"] = summarise_rate(summary)
    return results


def check_statuses(summary, expected, what):
    unexpected = {k: v for k, v in summary["status"].items() if int(k) not in expected}
    if unexpected or summary["errors"]:
        raise RuntimeError("%s: unexpected answers %r, %d connection errors" % (what, unexpected, summary["errors"]))


def summarise_rate(summary):
    return {"rps": round(summary["rps"]), "requests": summary["completed"], "connections": summary["connections"],
            "errors": summary["errors"] + sum(v for k, v in summary["status"].items() if int(k) >= 400),
            "status": summary["status"], "latency_ms": summary["latency_ms"], "client": client_cpu(summary)}


def send_rate(stack, sessions, name):
    path = write_requests(name + ".req", [send_request(token) for token, _ in sessions])
    summary = load("rate", "-p", stack.port, "-f", path, "-c", CONNECTIONS, "-d", SECONDS)
    return summarise_rate(summary)


def ctl(stack, *args, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABRI_")}
    env["ABRI_DB"] = stack.db
    subprocess.run([os.path.join(BIN, "abrictl"), *args], env=env, input=stdin, text=True, check=True,
                   capture_output=True)


def wake_latency(stack):
    """One exchange at a time, each way, on a session of its own, with an
    operator of a unit of its own: the events answer then carries that
    session, as an operator's would carry a few (the demo operator's
    carries the hundreds of waiting sessions of the other measures)."""
    ctl(stack, "unit", "add", "BENCH", "--name", "Bench", "--kind", "police")
    ctl(stack, "route", "add", "97480", "BENCH")
    password = secrets.token_urlsafe(18)
    ctl(stack, "agent", "add", "bench", "--unit", "BENCH", stdin=password + "\n")
    operator = Operator(stack, "bench", password)
    create = request("POST", "/api/session", body={"postcode": "97480", "role": "victim"})
    status, body = once(stack, "wake-session", [create])[0]
    if status != 201:
        raise RuntimeError("POST /api/session answered %d %r" % (status, body))
    sessions = [(body["token"], body["session"])]
    claim_all(stack, operator, sessions, "wake-claim")
    token, public_id = sessions[0]
    last = stack.sql("SELECT coalesce(max(id), 0) FROM messages")[0][0]
    poll = write_requests("wake-poll.tpl", [request("GET", "/api/messages?after={AFTER}&wait=30",
                                                    [("Authorization", "Bearer " + token)])])
    reply = write_requests("wake-reply.req", [operator.reply(public_id, TEXT)])
    to_visitor = load("pingpong", "-p", stack.port, "--poll", poll, "--send", reply, "-n", SAMPLES, "--after", last,
                      "--key", "id", "--gap-ms", 5)
    status, body, _ = stack.call("GET", "/api/agent/events?wait=0", headers={"Cookie": operator.cookie})
    events = write_requests("wake-events.tpl", [operator.events()])
    send = write_requests("wake-send.req", [send_request(token)])
    to_operator = load("pingpong", "-p", stack.port, "--poll", events, "--send", send, "-n", SAMPLES, "--after",
                       body["cursor"], "--key", "cursor", "--gap-ms", 5)
    return {"operator_to_visitor": summarise_pingpong(to_visitor),
            "visitor_to_operator": summarise_pingpong(to_operator)}


def summarise_pingpong(summary):
    return {"samples": summary["samples"], "errors": summary["bad"], "poll_answered_first": summary["poll_first"],
            "latency_ms": summary["after_send_answer_ms"], "from_send_start_ms": summary["after_send_start_ms"],
            "client": client_cpu(summary)}


def long_polls(stack, operator):
    t0 = time.monotonic()
    sessions = open_sessions(stack, WAITERS, "park-sessions")
    claim_all(stack, operator, sessions, "park-claims")
    setup_seconds = time.monotonic() - t0
    last = stack.sql("SELECT coalesce(max(id), 0) FROM messages")[0][0]
    polls = write_requests("park-polls.req", [
        request("GET", "/api/messages?after=%d&wait=30" % last, [("Authorization", "Bearer " + token)])
        for token, _ in sessions])
    wakes = write_requests("park-wakes.req", [operator.reply(public_id, TEXT) for _, public_id in sessions])
    client = subprocess.Popen([LOAD, "park", "-p", str(stack.port), "--polls", polls, "--wakes", wakes, "-a", "32",
                               "-w", "32", "-r", "5000", "--settle-ms", "1500"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = client.stdout.readline()
    if not line.startswith("parked"):
        client.kill()
        raise RuntimeError("the park client stopped: %r" % line)
    parked = int(line.split()[1])
    memory = stack.memory()
    client.stdin.write("go\n")
    client.stdin.flush()
    summary = json.loads(client.stdout.read().strip().splitlines()[-1])
    client.wait()
    errors = (summary["early"] + summary["empty"] + summary["bad_status"] + summary["missing"]
              + summary["connection_errors"] + summary["wake_errors"])
    return {"waiters": WAITERS, "parked_before_wake": parked, "delivered": summary["delivered"], "errors": errors,
            "detail": {k: summary[k] for k in ("early", "empty", "bad_status", "missing", "connection_errors",
                                               "wake_errors", "status", "ramp_seconds", "wake_seconds")},
            "latency_ms": summary["after_wake_answer_ms"], "from_wake_start_ms": summary["after_wake_start_ms"],
            "memory_while_waiting": memory, "setup_seconds": round(setup_seconds, 1),
            "client": client_cpu(summary, summary["ramp_seconds"] + summary["wake_seconds"] + 1.5)}


# A public id as lib/token.cpp draws it at time t: four Crockford
# characters of t / 64, six random ones.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PUBLIC_ID_SQL = " || ".join(["substr('%s', ((t >> %d) & 31) + 1, 1)" % (CROCKFORD, 6 + 5 * k) for k in (3, 2, 1, 0)] +
                            ["substr('%s', (random() & 31) + 1, 1)" % CROCKFORD] * 6)


def fill_expired(stack, sessions, messages_each):
    """Expired sessions and their messages, written straight into the
    database as the programs write them: the state a purge finds after a
    busy day, one chat opened a second."""
    old = int(time.time()) - 2 * 86400 - sessions
    with sqlite3.connect(stack.db, timeout=60) as db:
        db.execute("PRAGMA synchronous=NORMAL")
        unit = db.execute("SELECT min(id) FROM units").fetchone()[0]
        first = db.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()[0] + 1
        db.execute(
            "WITH RECURSIVE n(t) AS (SELECT ?1 UNION ALL SELECT t + 1 FROM n WHERE t < ?1 + ?2 - 1) "
            # OR IGNORE: the one-in-hundreds run where two random tails meet
            "INSERT OR IGNORE INTO sessions (public_id, token_hash, unit_id, role, state, created_at, last_seen) "
            "SELECT " + PUBLIC_ID_SQL + ", printf('%08x', t) || lower(hex(randomblob(32))), ?3, 'victim', 'active', "
            "t, t + 600 FROM n",
            (old, sessions, unit))
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO messages (session_id, sender, text, at) "
            "SELECT s.id, CASE n.i % 2 WHEN 0 THEN 'visitor' ELSE 'agent' END, ?, s.created_at + n.i "
            "FROM sessions s, n WHERE s.id >= ? ORDER BY s.id, n.i",
            (messages_each, TEXT, first))
    with sqlite3.connect(stack.db, timeout=60) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def run_purge(stack):
    """bin/purge as cron runs it; (wall seconds, CPU seconds, its line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABRI_")}
    start = time.monotonic()
    process = subprocess.Popen([os.path.join(BIN, "purge"), "--db", stack.db], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    said = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    if process.returncode != 0:
        raise RuntimeError("purge failed: " + said)
    return round(seconds, 2), round(usage.ru_utime + usage.ru_stime, 2), said.strip()


def purge(stack, sessions):
    """The purge alone, then again on as many expired sessions with sends
    running through it."""
    result = {"sessions": PURGE_SESSIONS, "messages": PURGE_SESSIONS * PURGE_MESSAGES_EACH}
    t0 = time.monotonic()
    fill_expired(stack, PURGE_SESSIONS, PURGE_MESSAGES_EACH)
    result["fill_seconds"] = round(time.monotonic() - t0, 1)
    result["alone"] = dict(zip(("seconds", "cpu_s", "said"), run_purge(stack)))
    fill_expired(stack, PURGE_SESSIONS, PURGE_MESSAGES_EACH)
    path = write_requests("purge-sends.req", [send_request(token) for token, _ in sessions])
    sender = subprocess.Popen([LOAD, "rate", "-p", str(stack.port), "-f", path, "-c", "16", "-d", "300"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    result["with_sends"] = dict(zip(("seconds", "cpu_s", "said"), run_purge(stack)))
    sender.send_signal(signal.SIGINT)
    summary = json.loads(sender.communicate()[0].strip().splitlines()[-1])
    result["sends_during"] = summarise_rate(summary)
    return result


def plain_cgi():
    """nginx with the -cgi variant of the locations (as `make install`
    makes it) and fcgiwrap starting one program per request."""
    name = "cgi"
    stack = Stack(name)  # for its paths and its database
    conf = os.path.join(stack.prefix, "conf")
    run = os.path.join(stack.prefix, "run")
    admin = os.path.join(stack.prefix, "admin")  # the admin listener's socket, as stack.sh makes it
    for d in (conf, run, os.path.join(stack.prefix, "log"), os.path.join(stack.prefix, "tmp")):
        os.makedirs(d, exist_ok=True)
    os.makedirs(admin, mode=0o700, exist_ok=True)
    os.makedirs(os.path.dirname(stack.db), mode=0o700, exist_ok=True)
    user = ""
    if os.getuid() == 0:
        shutil.chown(run, group="www-data")
        os.chmod(run, 0o2750)
        user = "user www-data www-data;"

    def subst(text):
        for key, value in (("@RUN@", run), ("@ADMIN@", admin), ("@WWW@", os.path.join(ROOT, "www")), ("@CONF@", conf),
                           ("@PREFIX@", stack.prefix), ("@PORT@", str(stack.port)), ("@USER@", user)):
            text = text.replace(key, value)
        return text.replace("rate=5r/s", "rate=100000r/s")

    cgi_templates = os.path.join(OUT, "cgi-templates")
    for src, dst in (("abri-http-cgi.conf.in", "abri-http.conf"),
                     ("abri-locations-cgi.conf.in", "abri-locations.conf")):
        with open(os.path.join(cgi_templates, src)) as f, open(os.path.join(conf, dst), "w") as g:
            g.write(subst(f.read()))
    with open(os.path.join(ROOT, "deploy", "nginx", "abri-fastcgi-params.conf")) as f:
        params = f.read()
    with open(os.path.join(conf, "abri-fastcgi-params.conf"), "w") as g:
        g.write(params)
    with open(os.path.join(ROOT, "deploy", "nginx", "dev.conf.in")) as f, open(os.path.join(conf, "nginx.conf"), "w") as g:
        g.write(subst(f.read()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABRI_")}
    env["ABRI_DB"] = stack.db
    subprocess.run([os.path.join(BIN, "abrictl"), "init"], env=env, check=True, capture_output=True)
    subprocess.run([os.path.join(BIN, "abrictl"), "unit", "add", "PP-75", "--name", "Préfecture de police de Paris",
                    "--kind", "police"], env=env, check=True, capture_output=True)
    subprocess.run([os.path.join(BIN, "abrictl"), "route", "default", "PP-75"], env=env, check=True,
                   capture_output=True)
    workers = str(2 * (os.cpu_count() or 2))
    log = open(os.path.join(stack.dir, "stack.log"), "w")
    fcgiwrap = subprocess.Popen(["fcgiwrap", "-c", workers, "-s", "unix:" + os.path.join(run, "cgi.sock")], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: os.umask(0o117))
    nginx = subprocess.Popen(["nginx", "-p", stack.prefix, "-c", os.path.join(conf, "nginx.conf"), "-e",
                              os.path.join(stack.prefix, "log", "error.log")], stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        for _ in range(100):
            try:
                if stack.call("GET", "/api/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        create = write_requests("cgi.req", [request("POST", "/api/session",
                                                    body={"postcode": "75011", "role": "victim"})])
        summary = load("rate", "-p", stack.port, "-f", create, "-c", workers, "-d", SECONDS)
        check_statuses(summary, {201}, "plain CGI")
        result = summarise_rate(summary)
        result["fcgiwrap_workers"] = int(workers)
        return result
    finally:
        for process in (nginx, fcgiwrap):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)
        log.close()


# -- under attack (issue 13) -------------------------------------------------

def attack_sends(stack, visitors, name):
    """Other visitors' sends, ATTACK_SENDERS at a time, for SECONDS; then the
    programs' memory, the attack still running."""
    path = write_requests(name + ".req", [send_request(token) for token, _ in visitors])
    summary = load("rate", "-p", stack.port, "-f", path, "-c", ATTACK_SENDERS, "-d", SECONDS, cpus=CLIENT_CPU)
    result = summarise_rate(summary)
    result["oldest_pending_ms"] = summary["oldest_pending_ms"]
    result["memory"] = stack.memory()
    return result


def fill_one_chat(stack, public_id):
    """SLOW_MESSAGES messages of SLOW_BYTES in one chat, written straight
    into the database: a poll after 0 is then a large answer."""
    text = "\U0001F6A8" * (SLOW_BYTES // 4)  # 4 bytes of UTF-8 each, 2000 characters: the longest message
    now = int(time.time())
    with sqlite3.connect(stack.db, timeout=60) as db:
        session = db.execute("SELECT id FROM sessions WHERE public_id = ?", (public_id,)).fetchone()[0]
        db.executemany("INSERT INTO messages (session_id, sender, text, at) VALUES (?, 'visitor', ?, ?)",
                       [(session, text, now)] * SLOW_MESSAGES)


def slow_readers(stack, token):
    """SLOW_ADDRESSES x SLOW_EACH connections that ask for the whole large
    chat with a 1 KiB receive buffer and never read it."""
    poll = request("GET", "/api/messages?after=0&wait=0", [("Authorization", "Bearer " + token)])
    sockets = []
    for address in range(SLOW_ADDRESSES):
        for _ in range(SLOW_EACH):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.bind(("127.3.0.%d" % (address + 1), 0))
            s.connect(("127.0.0.1", stack.port))
            s.sendall(poll)
            sockets.append(s)
    return sockets


def until(condition, seconds, what):
    """Waits for `condition` to hold, checking every 50 ms, at most
    `seconds`: a measure starts once its attack is in place, not after a
    guessed pause."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("under attack: %s did not happen within %d s" % (what, seconds))
        time.sleep(0.05)


def all_answered(sockets):
    """Whether every socket has answer bytes waiting in its receive buffer:
    each slow reader's poll was answered and its answer is stuck there."""
    poller = select.poll()
    for s in sockets:
        poller.register(s, select.POLLIN)
    return len(poller.poll(0)) == len(sockets)


def attack_stack(name):
    """A stack on STACK_CPU, with the production threshold of free sessions.
    Each sending session stands for many visitors, each far below the send
    rate of one session: that rate is lifted."""
    return Stack(name, {"ABRI_WORK_AFTER": str(WORK_AFTER), "ABRI_SEND_BURST": "1000000"}, cpus=STACK_CPU)


def under_attack():
    """The stack pinned to one core, as on a modest server, its clients on
    the other. Other visitors' sends calm, then during each attack, each
    attack on a stack of its own."""
    if (os.cpu_count() or 1) < 2:
        raise RuntimeError("under attack: the stack and its clients need a core each")
    results = {}
    with attack_stack("attack-flood") as stack:
        visitors = open_sessions(stack, ATTACK_VISITORS, "attack-sessions")
        results["calm"] = attack_sends(stack, visitors, "attack-calm")
        create = write_requests("attack-flood.req", [request("POST", "/api/session",
                                                             body={"postcode": "75011", "role": "victim"})])
        before = stack.sql("SELECT count(*) FROM sessions")[0][0]
        flood = subprocess.Popen(["taskset", "-c", CLIENT_CPU, LOAD, "rate", "-p", str(stack.port), "-f", create,
                                  "-c", str(FLOOD_CONNECTIONS), "-a", "8", "-d", str(SECONDS + 2)],
                                 stdout=subprocess.PIPE, text=True)
        # The flood is in place once it has taken the minute's free sessions
        # (the visitors took ATTACK_VISITORS of WORK_AFTER): every further one
        # is asked for work.
        free = max(0, WORK_AFTER - ATTACK_VISITORS)
        until(lambda: stack.sql("SELECT count(*) FROM sessions")[0][0] >= before + free, 10,
              "the flood taking the free sessions")
        results["flood"] = attack_sends(stack, visitors, "attack-flood")
        summary = json.loads(flood.communicate(timeout=120)[0].strip().splitlines()[-1])
        results["flood"]["attacker"] = {"requests": summary["completed"], "rps": round(summary["rps"]),
                                        "status": summary["status"],
                                        "sessions_created": stack.sql("SELECT count(*) FROM sessions")[0][0] - before}

    with attack_stack("attack-slow") as stack:
        visitors = open_sessions(stack, ATTACK_VISITORS, "attack-sessions")
        reader_token, reader_id = visitors.pop()
        fill_one_chat(stack, reader_id)
        readers = slow_readers(stack, reader_token)
        try:
            until(lambda: all_answered(readers), 30, "every slow reader's answer stuck in its buffer")
            results["slow_readers"] = attack_sends(stack, visitors, "attack-slow")
            results["slow_readers"]["readers"] = len(readers)
        finally:
            for s in readers:
                s.close()
    return results

# -- the run -----------------------------------------------------------------

def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 4 * WAITERS:
        say("warning: at most %d open files (ulimit -Hn): %d waiters need about %d" % (hard, WAITERS, 4 * WAITERS))
    os.makedirs(OUT, exist_ok=True)
    started = time.monotonic()
    results = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                           "open_files": resource.getrlimit(resource.RLIMIT_NOFILE)[1]},
               "settings": {"quick": QUICK, "connections": CONNECTIONS, "seconds_per_rate_run": SECONDS}}

    say("0/8 the machine: raw SQLite commits")
    results["machine"]["sqlite_commits_per_s"] = machine_commits()
    say("1/8 ceiling: minimal libfcgi program and static file behind the same nginx")
    results["ceiling"] = ceiling()

    with Stack("abri") as stack:
        # stack.sh says "ready" once each program has answered a request.
        results["idle_after_start"] = stack.memory()
        say("2/8 send, synchronous=FULL (the default)")
        sessions = open_sessions(stack, 1000, "send-sessions")
        results["send_full"] = send_rate(stack, sessions, "send-full")
        say("3/8 wake latency, one at a time")
        results["wake"] = wake_latency(stack)
        operator = Operator(stack)
        say("4/8 long-poll: %d visitors waiting at once" % WAITERS)
        results["long_poll"] = long_polls(stack, operator)
        say("6/8 purge of %d expired sessions, sends running" % PURGE_SESSIONS)
        results["purge"] = purge(stack, sessions)
        say("5/8 idle footprint after the load")
        # Workers idle for 5 s leave and hand memory back (lib/limits.hpp).
        time.sleep(8)
        results["idle_after_load"] = stack.memory()

    with Stack("abri-normal", {"ABRI_SYNCHRONOUS": "NORMAL"}) as stack:
        say("2/8 send, synchronous=NORMAL")
        sessions = open_sessions(stack, 1000, "send-sessions-normal")
        results["send_normal"] = send_rate(stack, sessions, "send-normal")

    say("7/8 plain CGI: POST /api/session, a process per request")
    results["cgi"] = plain_cgi()
    say("8/8 under attack: slow readers, then a flood of new sessions, the stack on one core")
    results["under_attack"] = under_attack()
    results["seconds"] = round(time.monotonic() - started, 1)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    if QUICK:
        say("BENCH_QUICK=1: smaller and shorter runs; the targets are for the full run")
    print(table(results))
    say("results: %s (%.0f s)" % (os.path.relpath(os.path.join(OUT, "results.json"), ROOT), results["seconds"]))


# -- the table ---------------------------------------------------------------

def mem_text(m):
    """abri's programs together (distinct pages), then the sums; nginx."""
    a, n = m["abri"], m["nginx"]
    together = "%.1f MiB together" % a["together_mib"] if a["together_mib"] is not None else "?"
    return "abri %s (RSS sum %.1f, PSS %.1f, %d programs); nginx %.1f (PSS %.1f)" % (
        together, a["rss_sum_mib"], a["pss_mib"], a["processes"],
        n["together_mib"] if n["together_mib"] is not None else n["rss_sum_mib"], n["pss_mib"])


def mem_ok(m, limit):
    a = m["abri"]
    return (a["together_mib"] if a["together_mib"] is not None else a["rss_sum_mib"]) < limit


def attack_rows(r, row, met):
    for key, label in (("calm", "under attack: sends, calm (1 core)"),
                       ("slow_readers", "under attack: sends, %d slow readers" % (SLOW_ADDRESSES * SLOW_EACH)),
                       ("flood", "under attack: sends, session flood")):
        x = r[key]
        worst = max(x["latency_ms"]["p99"], x["oldest_pending_ms"])  # a send held past the end counts
        row(label, "p99 %.1f ms, %d req/s%s%s; %s" % (
            x["latency_ms"]["p99"], x["rps"], ", %d errors" % x["errors"] if x["errors"] else "",
            ", a send unanswered for %.0f ms" % x["oldest_pending_ms"] if x["oldest_pending_ms"] > 100 else "",
            mem_text(x["memory"])), "",
            "p99 < 100 ms, abri < 64 MiB: %s" % met(worst < 100 and not x["errors"] and mem_ok(x["memory"], 64)),
            x["client"])
    a = r["flood"]["attacker"]
    row("under attack: the flood itself", "%d req/s, answers %s, %d sessions created" % (
        a["rps"], a["status"], a["sessions_created"]))


def table(r):
    c4 = r["ceiling"]["fastcgi_4_threads"]["rps"]
    rows = []

    def row(measure, value, versus="", target="", client=None):
        cpu = "%.0f%%" % (100 * client["share_of_one_core"]) if client else ""
        rows.append((measure, value, versus, target, cpu))

    def met(ok):
        return "met" if ok else "MISSED"

    m = r["machine"]["sqlite_commits_per_s"]
    row("machine: raw SQLite commits/s", "%d FULL, %d NORMAL" % (m["FULL"], m["NORMAL"]))
    for key, label in (("nginx_static", "ceiling: nginx, small static file"),
                       ("fastcgi_1_thread", "ceiling: minimal libfcgi, 1 thread"),
                       ("fastcgi_4_threads", "ceiling: minimal libfcgi, 4 threads")):
        x = r["ceiling"][key]
        row(label, "%d req/s" % x["rps"], "", "", x["client"])
    for key, label, target in (("send_full", "send, synchronous=FULL (default)", 0.5),
                               ("send_normal", "send, synchronous=NORMAL", None)):
        x = r[key]
        ratio = x["rps"] / c4
        row(label, "%d req/s, p99 %.1f ms%s" % (x["rps"], x["latency_ms"]["p99"],
                                               ", %d errors" % x["errors"] if x["errors"] else ""),
            "%.0f%% of ceiling" % (100 * ratio),
            (">= 50%%: %s" % met(ratio >= target)) if target else "", x["client"])
    for key, label in (("operator_to_visitor", "wake: operator -> waiting visitor"),
                       ("visitor_to_operator", "wake: visitor -> waiting operator")):
        x = r["wake"][key]
        a, b = x["latency_ms"], x["from_send_start_ms"]
        row(label, "p50 %.1f ms, p99 %.1f ms after the send's answer; from its start p50 %.1f, p99 %.1f (n=%d%s)" % (
            a["p50"], a["p99"], b["p50"], b["p99"], x["samples"], ", %d errors" % x["errors"] if x["errors"] else ""),
            "", "p99 < 10 ms: %s" % met(a["p99"] < 10 and not x["errors"]), x["client"])
    lp = r["long_poll"]
    mem = lp["memory_while_waiting"]
    row("long-poll: visitors waiting, woken", "%d waiting, %d delivered, %d errors" % (
        lp["waiters"], lp["delivered"], lp["errors"]), "", "5000, 0 errors: %s" % met(
        lp["waiters"] >= 5000 and lp["errors"] == 0), lp["client"])
    row("long-poll: delivery latency", "p50 %.1f ms, p99 %.1f ms" % (lp["latency_ms"]["p50"], lp["latency_ms"]["p99"]),
        "", "p99 < 250 ms: %s" % met(lp["latency_ms"]["p99"] < 250))
    row("long-poll: memory while waiting", mem_text(mem), "", "abri < 64 MiB: %s" % met(mem_ok(mem, 64)))
    for key, label in (("idle_after_start", "idle after start"), ("idle_after_load", "idle after the load")):
        x = r[key]
        row(label, mem_text(x), "", "abri < 16 MiB: %s" % met(mem_ok(x, 16)))
    p = r["purge"]
    s = p["sends_during"]
    for key, label in (("alone", "purge: %d sessions, %d messages" % (p["sessions"], p["messages"])),
                       ("with_sends", "purge: the same, sends running")):
        x = p[key]
        row(label, "%.1f s (purge's CPU %.1f s)" % (x["seconds"], x["cpu_s"]), "",
            "< 10 s: %s" % met(x["seconds"] < 10))
    row("purge: sends meanwhile", "%d req/s, p99 %.1f ms, max %.0f ms%s" % (
        s["rps"], s["latency_ms"]["p99"], s["latency_ms"]["max"], ", %d errors" % s["errors"] if s["errors"] else ""),
        "", "p99 < 50 ms: %s" % met(s["latency_ms"]["p99"] < 50 and not s["errors"]), s["client"])
    x = r["cgi"]
    row("plain CGI: POST /api/session", "%d req/s" % x["rps"], "%.1f%% of ceiling" % (100 * x["rps"] / c4), "",
        x["client"])
    attack_rows(r["under_attack"], row, met)
    return render(rows)


def render(rows):
    widths = [max(len(str(row_[i])) for row_ in rows + [HEAD]) for i in range(5)]
    lines = ["| " + " | ".join(str(v).ljust(w) for v, w in zip(HEAD, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(v).ljust(w) for v, w in zip(row_, widths)) + " |" for row_ in rows]
    return "\n".join(lines)


def attack_only():
    """`bench.py under-attack`: that section alone, its rows of the table."""
    os.makedirs(OUT, exist_ok=True)
    result = under_attack()
    with open(os.path.join(OUT, "under-attack.json"), "w") as f:
        json.dump(result, f, indent=2)
    rows = []
    attack_rows(result, lambda measure, value, versus="", target="", client=None: rows.append(
        (measure, value, versus, target, "%.0f%%" % (100 * client["share_of_one_core"]) if client else "")),
        lambda ok: "met" if ok else "MISSED")
    print(render(rows))


def browser_cost():
    """`bench.py browser-cost`: tests/browser/cost/measure.mjs against a stack."""
    with Stack("browser-cost") as stack:
        subprocess.run(["node", os.path.join(ROOT, "tests", "browser", "cost", "measure.mjs")],
                       env=dict(os.environ, ABRI_URL=stack.url("/")), check=True)


HEAD = ("measure", "result", "vs ceiling", "target", "client CPU")

if __name__ == "__main__":
    try:
        {"under-attack": attack_only, "browser-cost": browser_cost}.get(" ".join(sys.argv[1:]), main)()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        say("failed: %s" % e)
        sys.exit(1)
