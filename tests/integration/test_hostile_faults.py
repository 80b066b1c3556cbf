"""Faults under the database and at the client's end. A database whose
disk is full, that another process keeps locked for longer than the busy
timeout, or whose filesystem turns read-only answers the JSON 503 (never
hangs, never an HTML page) and loses nothing it acknowledged; it recovers
by itself when the fault goes (full, locked). A client that leaves in the
middle of a request or of a long-poll costs nothing once gone. The disk
faults are real filesystems (tmpfs, ext4 on a loop file) mounted under
the stack's database: skipped where mounting is not possible."""
import contextlib
import os
import socket
import sqlite3
import subprocess
import threading
import time
import unittest

from hostile import filesystem_under_database, integrity, open_fds, pid, wait_for
from operators import Operator
from stack import Stack, StackCase, UNLIMITED_SENDS

BIG = "é" * 2000  # 4000 bytes, the longest text


class Acknowledged:
    """Sends and remembers what was acknowledged; every other answer must be
    the JSON 503."""

    def __init__(self, test, stack, token):
        self.test, self.stack, self.token = test, stack, token
        self.messages = []

    def send(self, text):
        status, body, headers = self.stack.request("POST", "/api/messages", {"text": text}, token=self.token,
                                                   timeout=60)
        if status == 201:
            self.messages.append((body["id"], text))
        else:
            self.test.assertEqual(status, 503, body)
            self.test.assertTrue(headers.get("Content-Type", "").startswith("application/json"), headers)
            self.test.assertEqual(body["error"]["code"], "unavailable", body)
        return status

    def assert_all_stored(self, db_path):
        with sqlite3.connect(db_path) as db:
            stored = set(db.execute("SELECT id, text FROM messages").fetchall())
        self.test.assertTrue(set(self.messages) <= stored, "an acknowledged message was lost")


def fill(path):
    """Writes zeros to `path` until the filesystem has no byte left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (65536, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError:
                pass
    finally:
        os.close(fd)


class DatabaseFull(unittest.TestCase):
    """The database on a 4 MiB tmpfs that another file fills to the last byte."""

    def setUp(self):
        self.stack = Stack(env=UNLIMITED_SENDS)
        self.mounted = filesystem_under_database(self.stack, "tmpfs", 4)
        self.mount = self.mounted.__enter__()
        if self.mount is None:
            self.mounted.__exit__(None, None, None)
            self.stack.stop()
            self.skipTest("cannot mount a tmpfs here")
        self.stack.start()
        self.sender = Acknowledged(self, self.stack, self.stack.open_session()["token"])
        for _ in range(20):
            self.assertEqual(self.sender.send(BIG), 201)

    def tearDown(self):
        self.mounted.__exit__(None, None, None)
        self.stack.stop()

    def fill_until_sends_fail(self):
        fill(os.path.join(self.mount, "filler"))
        statuses = [self.sender.send(BIG) for _ in range(60)]
        self.assertIn(503, statuses, "the disk never filled up")

    def test_full_disk_answers_503_loses_nothing_and_recovers(self):
        self.fill_until_sends_fail()
        # The service keeps answering reads.
        self.assertEqual(self.stack.request("GET", "/api/messages?wait=0", token=self.sender.token)[0], 200)
        # Room again: it recovers by itself, without a restart.
        os.remove(os.path.join(self.mount, "filler"))
        self.assertTrue(wait_for(lambda: self.sender.send("de nouveau") == 201, timeout=20))
        self.assertEqual(integrity(self.stack.db), [("ok",)])
        self.stack.stop_processes()
        self.sender.assert_all_stored(self.stack.db)
        self.assertEqual(integrity(self.stack.db), [("ok",)])

    def test_full_disk_still_lets_a_quiet_visitor_read(self):
        # Regression: a poll keeps its session alive with a write every 10 s
        # (lib/limits.hpp); when that write failed, the poll answered 503,
        # and a visitor quiet for 10 s could no longer read the messages
        # already stored. Reading needs no write.
        quiet = Acknowledged(self, self.stack, self.stack.open_session()["token"])
        self.assertEqual(quiet.send("avant"), 201)
        self.stack.sql("UPDATE sessions SET last_seen = last_seen - 20")  # quiet for 20 s
        self.fill_until_sends_fail()  # by the other visitor
        status, body, _ = self.stack.request("GET", "/api/messages?after=0&wait=0", token=quiet.token)
        self.assertEqual(status, 200, body)
        self.assertEqual([(m["id"], m["text"]) for m in body["messages"]], quiet.messages)


class DatabaseReadOnly(unittest.TestCase):
    def test_filesystem_turned_read_only_answers_503_and_loses_nothing(self):
        stack = Stack(env=UNLIMITED_SENDS)
        try:
            with filesystem_under_database(stack, "ext4", 16) as mount:
                if mount is None:
                    self.skipTest("cannot mount an ext4 loop file here")
                device = os.path.basename(subprocess.run(["findmnt", "-no", "SOURCE", mount], capture_output=True,
                                                         text=True).stdout.strip())
                trigger = "/sys/fs/ext4/%s/trigger_fs_error" % device
                if not os.path.exists(trigger):
                    self.skipTest("this kernel cannot turn ext4 read-only on demand")
                stack.start()
                sender = Acknowledged(self, stack, stack.open_session()["token"])
                for i in range(20):
                    self.assertEqual(sender.send("avant %d" % i), 201)
                # What the kernel does on a disk error with errors=remount-ro.
                with open(trigger, "w") as f:
                    f.write("abri test")
                options = subprocess.run(["findmnt", "-no", "OPTIONS", mount], capture_output=True,
                                         text=True).stdout.strip().split(",")
                self.assertTrue({"ro", "emergency_ro"} & set(options), options)
                started = time.monotonic()
                statuses = [sender.send("pendant %d" % i) for i in range(5)]
                self.assertEqual(statuses, [503] * 5)
                self.assertLess(time.monotonic() - started, 60)
                status, body, headers = stack.request("POST", "/api/session", {"postcode": "75011", "role": "victim"})
                self.assertEqual(status, 503, body)
                self.assertEqual(set(body), {"error"})
                # After the administrator's repair (fsck, mount again), every
                # acknowledged message is there.
                stack.stop_processes()
                image = os.path.join(stack.dir, "fs.img")
                subprocess.run(["umount", mount], capture_output=True)
                subprocess.run(["e2fsck", "-fy", image], capture_output=True)
                subprocess.run(["mount", "-o", "loop,ro", image, mount], check=True, capture_output=True)
                copy = os.path.join(stack.dir, "copy")
                subprocess.run(["cp", "-a", mount, copy], check=True)
                db = os.path.join(copy, os.path.basename(stack.db))
                self.assertEqual(integrity(db), [("ok",)])
                sender.assert_all_stored(db)
                self.assertEqual(len(sender.messages), 20)
        finally:
            stack.stop()


@contextlib.contextmanager
def write_locked(path):
    """Another process's hold on the database's write lock, for as long as
    the block runs: past the busy timeout (5 s, lib/limits.hpp) if the
    block waits for a write."""
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    db.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


class DatabaseLocked(StackCase):
    """Reads while another process holds the write lock, on one stack:
    each test touches its own session only."""

    def test_a_quiet_visitor_still_reads_while_the_database_is_locked(self):
        # Regression: the poll's keep-alive write, refused after the busy
        # timeout, turned the read into a 503 (see DatabaseFull).
        opened = self.stack.open_session()
        sender = Acknowledged(self, self.stack, opened["token"])
        self.assertEqual(sender.send("avant"), 201)
        self.stack.sql("UPDATE sessions SET last_seen = last_seen - 20 WHERE public_id = ?", opened["session"])
        with write_locked(self.stack.db):
            status, body, _ = self.stack.request("GET", "/api/messages?after=0&wait=0", token=sender.token)
            self.assertEqual(status, 200, body)
            self.assertEqual([m["text"] for m in body["messages"]], ["avant"])

    def test_an_operator_still_reads_while_the_database_is_locked(self):
        # Regression: the events poll marks a held chat whose visitor's
        # session expired as left, a write; refused after the busy timeout,
        # it turned the whole read into a 503.
        opened = self.stack.open_session()
        token, session = opened["token"], opened["session"]
        operator = Operator(self.stack)
        self.assertEqual(operator.claim(session)[0], 200)
        self.assertEqual(self.stack.request("POST", "/api/messages", {"text": "avant"}, token=token)[0], 201)
        self.stack.sql("UPDATE sessions SET last_seen = last_seen - 100000, created_at = created_at - 100000 "
                       "WHERE public_id = ?", session)
        with write_locked(self.stack.db):
            status, body, _ = operator.events()
            self.assertEqual(status, 200, body)
            self.assertIn("avant", [m["text"] for m in body["messages"]])
        # The lock gone, the next poll marks the chat as left.
        status, body, _ = operator.events()
        self.assertEqual(status, 200, body)
        self.assertEqual(self.stack.sql("SELECT state FROM sessions WHERE public_id = ?", session), [("left",)])


class DatabaseLockedForLong(unittest.TestCase):
    def test_database_locked_past_the_busy_timeout_answers_503_then_recovers(self):
        with Stack() as stack:
            sender = Acknowledged(self, stack, stack.open_session()["token"])
            for i in range(5):
                self.assertEqual(sender.send("avant %d" % i), 201)
            with write_locked(stack.db):
                # Answered after the busy timeout, not when the lock goes.
                self.assertEqual(sender.send("pendant"), 503)
                # Reads go on meanwhile (WAL): the long-poll answers.
                status, body, _ = stack.request("GET", "/api/messages?after=0&wait=0", token=sender.token)
                self.assertEqual(status, 200)
            # The lock gone, the service recovers by itself.
            self.assertEqual(sender.send("après"), 201)
            stack.stop_processes()
            sender.assert_all_stored(stack.db)
            self.assertEqual(integrity(stack.db), [("ok",)])


def raw_poll(stack, token, wait=30):
    s = socket.create_connection(("127.0.0.1", stack.port))
    s.sendall(("GET /api/messages?wait=%d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
               % (wait, token)).encode())
    return s


class ClientsWhoLeave(StackCase):
    stack_env = {"ABRI_THREADS": "2"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = [cls.stack.open_session()["token"] for _ in range(40)]

    def settle(self, process, target, timeout=10):
        return wait_for(lambda: abs(open_fds(process) - target) <= 2, timeout)

    def test_clients_who_leave_mid_poll_free_everything_at_once(self):
        process = pid(self.stack, "messages")
        baseline = open_fds(process)
        polls = [raw_poll(self.stack, token) for token in self.tokens]
        # Parked: each holds its connection and nothing else (2 threads).
        self.assertTrue(wait_for(lambda: open_fds(process) >= baseline + 30, 10), "the polls were not parked")
        start = time.monotonic()
        for s in polls:
            s.close()
        # Long before their 30 s run out, the program has let them go.
        self.assertTrue(self.settle(process, baseline), "connections of gone clients still held")
        self.assertLess(time.monotonic() - start, 10)
        # And serves at once, with its two threads.
        answers = []
        threads = [threading.Thread(target=lambda t=t: answers.append(
            self.stack.request("POST", "/api/messages", {"text": "toujours là"}, token=t, timeout=10)[0]))
            for t in self.tokens[:10]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        self.assertEqual(answers, [201] * 10)

    def test_clients_who_leave_mid_request_reach_no_program(self):
        process = pid(self.stack, "messages")
        baseline = open_fds(process)
        sockets = []
        for token in self.tokens[:30]:
            s = socket.create_connection(("127.0.0.1", self.stack.port))
            s.sendall(("POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"text\": \"à moi" % token)
                      .encode())
            sockets.append(s)
        # nginx (one worker) has read the half-sent bodies once it has
        # answered a request sent after them. It holds them: the program
        # has not seen them.
        self.assertEqual(self.stack.request("GET", "/api/health")[0], 200)
        self.assertLessEqual(open_fds(process), baseline + 2)
        for s in sockets:
            s.close()
        self.assertEqual(self.stack.request("POST", "/api/messages", {"text": "ok"}, token=self.tokens[0])[0], 201)
        self.assertEqual(self.stack.sql("SELECT count(*) FROM messages WHERE text LIKE 'à moi%'"), [(0,)])

    def test_a_client_that_never_reads_a_big_answer_holds_no_worker(self):
        # 500 messages of 4000 bytes: the longest answer a poll can give
        # (about 2 MB). Clients that ask for it and never read must not
        # take the program's two threads.
        token = self.tokens[-1]
        for i in range(0, 500, 50):
            threads = [threading.Thread(target=self.stack.request, args=("POST", "/api/messages", {"text": BIG}),
                                        kwargs={"token": token}) for _ in range(50)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        readers = []
        for _ in range(6):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", self.stack.port))
            s.sendall(("GET /api/messages?after=0&wait=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                       % token).encode())
            readers.append(s)
        try:
            # The program has answered all six: their first bytes are here.
            for s in readers:
                s.settimeout(30)
                self.assertTrue(s.recv(1, socket.MSG_PEEK), "a big answer never came")
            start = time.monotonic()
            status = self.stack.request("POST", "/api/messages", {"text": "pas bloqué"}, token=self.tokens[0],
                                        timeout=30)[0]
            self.assertEqual(status, 201)
            self.assertLess(time.monotonic() - start, 3, "slow readers held the workers")
        finally:
            for s in readers:
                s.close()


if __name__ == "__main__":
    unittest.main()


class EraseWithAReaderOpen(StackCase):
    """"Terminer et effacer" while something reads the database (the
    README's backup command, a long report): the reader keeps old frames of
    the write-ahead log, where the text still is. The erase never says
    "done" (204) while a file of the database holds the text: it answers
    503 erase_pending, and the program scrubs again on its own until the
    reader lets go."""

    def files_holding(self, marker):
        held = []
        for suffix in ("", "-wal", "-shm"):
            path = self.stack.db + suffix
            if os.path.exists(path):
                with open(path, "rb") as f:
                    if marker in f.read():
                        held.append(os.path.basename(path))
        return held

    def test_erase_never_answers_204_with_text_left(self):
        marker = "effacez-moi-%d" % time.monotonic_ns()
        visitor = self.stack.open_session()
        for i in range(5):
            status, _, _ = self.stack.request("POST", "/api/messages", {"text": "%s %d" % (marker, i)},
                                              token=visitor["token"])
            self.assertEqual(status, 201)
        reader = sqlite3.connect(self.stack.db, isolation_level=None, timeout=10)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM messages").fetchall()  # holds its snapshot
            status, body, _ = self.stack.request("DELETE", "/api/session", token=visitor["token"])
            if status == 204:
                self.assertEqual(self.files_holding(marker.encode()), [])
            else:
                self.assertEqual((status, body["error"]["code"]), (503, "erase_pending"), body)
                self.assertTrue(self.files_holding(marker.encode()), "503 although nothing was left")
            # Erased for the person either way: the token is dead.
            self.assertEqual(self.stack.request("GET", "/api/messages?wait=0", token=visitor["token"])[0], 401)
        finally:
            reader.close()
        self.assertTrue(wait_for(lambda: not self.files_holding(marker.encode()), 15),
                        "the text stayed in %s after the reader let go" % self.files_holding(marker.encode()))
