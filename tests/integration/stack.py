"""The real abri stack for tests: nginx and every FastCGI program started by
deploy/dev/stack.sh on a free loopback port, with a database of its own.

    with Stack(env={"ABRI_IDLE_TTL": "2"}) as stack:
        status, body, headers = stack.request("POST", "/api/session", {...})
"""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ABRI_BIN", os.path.join(ROOT, "bin"))


# For tests whose senders write as fast as they can to measure something
# else (a full disk, a crash, a purge): the send rate of one session
# (ABRI_SEND_BURST, test_victims' SendLimits) would refuse them first.
UNLIMITED_SENDS = {"ABRI_SEND_BURST": "1000000"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(process, timeout=15):
    """Ends a process started with start_new_session=True and all it
    started: SIGTERM to its process group, SIGKILL after `timeout` seconds."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class DemoDatabase:
    """What `stack.sh --demo` writes into a new database (units, routes,
    canned replies, an operator with an Argon2 hash): some forty abrictl
    runs, seconds of every stack's start (tens under the sanitizers). The
    first demo stack keeps a copy of its database as the filling left it;
    later ones start from that copy, and stack.sh, finding a database,
    fills nothing. The copy is kept in $ABRI_TEST_DEMO_DIR when tests/run.py
    shares one among its processes, else for this process. The login
    secret (made on first use) is not kept: each stack makes its own."""

    FILES = ("abri.db", "demo-operator.txt")

    def __init__(self):
        self.own = None
        self.owning = threading.Lock()

    def folder(self):
        shared = os.environ.get("ABRI_TEST_DEMO_DIR")
        if shared:
            return shared
        with self.owning:
            if self.own is None:
                self.own = tempfile.TemporaryDirectory(prefix="abri-demo-")
        return self.own.name

    def seed(self, db):
        """Copies the kept database to `db` (a stack's, not made yet); False
        when there is nothing kept yet."""
        kept = os.path.join(self.folder(), "kept")
        if not os.path.isdir(kept):
            return False
        directory = os.path.dirname(db)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for name in self.FILES:
            shutil.copy2(os.path.join(kept, name), os.path.join(directory, name))
        return True

    def keep(self, db):
        """Keeps a copy of `db`, a stack's database just filled and started
        (the programs have it open: SQLite's backup reads it consistently),
        unless another stack's was kept first. Made aside, then renamed:
        a stack never copies half of it."""
        making = tempfile.mkdtemp(dir=self.folder())
        copy = os.path.join(making, "abri.db")
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as source, \
                contextlib.closing(sqlite3.connect(copy)) as target:
            source.backup(target)
            target.execute("DELETE FROM login_secret")
            target.commit()
        shutil.copymode(db, copy)
        shutil.copy2(os.path.join(os.path.dirname(db), "demo-operator.txt"), making)
        try:
            os.rename(making, os.path.join(self.folder(), "kept"))
        except OSError:  # another stack's is kept already
            shutil.rmtree(making)


demo_database = DemoDatabase()


class Stack:
    def __init__(self, env=None, demo=True, session_rate="10000r/s"):
        self.extra_env = env or {}
        self.session_rate = session_rate
        self.demo = demo
        self.tmp = tempfile.TemporaryDirectory(prefix="abri-test-")
        self.dir = self.tmp.name
        # nginx's workers (www-data when run as root) must reach the sockets
        # below; the database directory itself stays 0700 (stack.sh).
        os.chmod(self.dir, 0o755)
        self.db = os.path.join(self.dir, "db", "abri.db")
        self.prefix = os.path.join(self.dir, "stack")
        self.port = free_port()
        self.process = None

    # -- life cycle -------------------------------------------------------
    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ABRI_")}
        env.update({"PORT": str(self.port), "PREFIX": self.prefix, "ABRI_DB": self.db, "BIN": BIN,
                    "SESSION_RATE": self.session_rate})
        env.update(self.extra_env)
        # stack.sh fills a new database with the demo data: kept for the next stacks.
        filled_here = self.demo and not os.path.exists(self.db) and not demo_database.seed(self.db)
        self.log = open(os.path.join(self.dir, "stack.log"), "w")
        args = [os.path.join(ROOT, "deploy", "dev", "stack.sh")] + (["--demo"] if self.demo else [])
        self.process = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        # Slow under the sanitizers, with other suites running beside.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("stack.sh exited: " + self.read_log())
            if "ready on" in self.read_log():
                if filled_here:
                    demo_database.keep(self.db)
                return self
            time.sleep(0.05)
        raise RuntimeError("the stack did not start: " + self.read_log())

    def stop(self):
        self.stop_processes()
        if self.process:
            self.log.close()
        self.tmp.cleanup()

    def stop_processes(self):
        """Stops nginx and the programs, keeping the files (stop() removes
        them): the database can then be checked as they left it."""
        stop_group(self.process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def read_log(self):
        with open(os.path.join(self.dir, "stack.log")) as f:
            return f.read()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def nginx_log(self, name):
        with open(os.path.join(self.prefix, "log", name), errors="replace") as f:
            return f.read()

    def demo_operator(self):
        with open(os.path.join(os.path.dirname(self.db), "demo-operator.txt")) as f:
            pairs = dict(line.strip().split("=", 1) for line in f if "=" in line)
        return pairs["username"], pairs["password"]

    # -- helpers ----------------------------------------------------------
    def ctl(self, *args, stdin=None):
        """Runs abrictl on the stack's database; returns (status, stdout, stderr)."""
        done = subprocess.run([os.path.join(BIN, "abrictl"), "--db", self.db, *args], input=stdin,
                              capture_output=True, text=True, env=self.program_env())
        return done.returncode, done.stdout, done.stderr

    def program_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ABRI_")}
        env.update(self.extra_env)
        env["ABRI_DB"] = self.db
        return env

    def sql(self, statement, *params):
        """Reads the database directly (tests only), as sqlite3 would."""
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute(statement, params).fetchall()

    def request(self, method, path, body=None, token=None, headers=None, raw=None, timeout=40):
        """One HTTP request; returns (status, parsed JSON or text, headers)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        conn.request(method, path, body=data, headers=h)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        kind = response.getheader("Content-Type", "")
        if kind.startswith("application/json") and payload:
            parsed = json.loads(payload)
        else:
            parsed = payload.decode(errors="replace")
        return response.status, parsed, dict(response.getheaders())

    def open_session(self, postcode="75011", role="victim"):
        status, body, _ = self.request("POST", "/api/session", {"postcode": postcode, "role": role})
        if status != 201:
            raise AssertionError("POST /api/session answered %d %r" % (status, body))
        return body

    def every_message(self, token):
        """Every message of a visitor's chat, paging through the polls
        (a poll answers at most 500)."""
        messages, after = [], 0
        while True:
            status, body, _ = self.request("GET", "/api/messages?after=%d&wait=0" % after, token=token)
            if status != 200:
                raise AssertionError("GET /api/messages answered %d %r" % (status, body))
            if not body["messages"]:
                return messages
            messages += body["messages"]
            after = body["messages"][-1]["id"]


class StackCase(unittest.TestCase):
    """Tests of one class share one stack, started once for them."""

    stack_env = None

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env=cls.stack_env).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
