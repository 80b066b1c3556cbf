"""Slow readers (issue 13): clients that ask for a large answer and never
read it must not pin the messages program's workers, nor grow it.

The attack, as it was run against the blocking write: one session filled
with 500 messages of 8,000 bytes, so that `GET /api/messages?after=0` is
the largest answer a poll can give; then 64 connections from each of 10
loopback addresses (nginx keys its limits per address, and 127.0.x.y are
all loopback), each with a 1 KiB receive buffer, each asking for that
answer and never reading it. It cost the attacker 640 connections and one
session. Proven here: other visitors' sessions, sends and polls all
succeed, fast, while the 640 hang; and the program's peak memory stays
bounded. What makes it so: nginx reads whole answers into memory at once
(fastcgi_buffering, deploy/nginx/abri-locations.conf.in) and the program
never waits more than limits::kAnswerWriteMs for a peer (lib/server.cpp).

Run: cd tests/integration && python3 -m unittest -v test_hostile_slow
"""
import fcntl
import os
import select
import socket
import sqlite3
import struct
import termios
import time
import unittest

from hostile import pid, wait_for
from stack import BIN, Stack

# AddressSanitizer's allocator keeps freed memory in quarantine and maps
# shadow memory: a sanitized program's RSS says nothing of abri's own
# (`make test SANITIZE=1` measured 385 MiB). The plain build and `make
# bench` hold the bound; the sanitized run checks everything else.
SANITIZED = os.path.basename(BIN.rstrip("/")) == "san"

ADDRESSES = ["127.0.%d.2" % n for n in range(1, 11)]
READERS_PER_ADDRESS = 64          # nginx's limit_conn for /api/messages, per client
MESSAGES, MESSAGE_BYTES = 500, 8000
VISITORS, EXCHANGES = 5, 3        # visitors measured during the attack, sends and polls each
FAST_SECONDS = 2.0                # the slowest of their answers, at most
# The messages program's peak (VmHWM): 64 workers each building an answer
# at once (25 MiB measured with 64 KiB answers, 69 MiB with 256 KiB; 700
# MiB with the blocking write and 4 MB answers before issue 13).
MAX_PEAK_RSS_KIB = 48 * 1024
ANSWER_WRITE_SECONDS = 2.0        # limits::kAnswerWriteMs


def fill_session(stack, token_session):
    """MESSAGES long messages in one session, written straight into the
    database (the send limits would take minutes to let them through)."""
    with sqlite3.connect(stack.db, timeout=30) as db:
        (session_id,) = db.execute("SELECT id FROM sessions WHERE public_id = ?", (token_session,)).fetchone()
        now = int(time.time())
        db.executemany("INSERT INTO messages (session_id, sender, text, at) VALUES (?, 'visitor', ?, ?)",
                       ((session_id, ("message %d " % i).ljust(MESSAGE_BYTES, "x"), now) for i in range(MESSAGES)))


def slow_reader(stack, source, token):
    """A connection from `source` with a 1 KiB receive buffer that asks for
    the whole chat and never reads."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.bind((source, 0))
    s.connect(("127.0.0.1", stack.port))
    s.sendall(("GET /api/messages?after=0&wait=0 HTTP/1.1\r\nHost: localhost\r\n"
               "Authorization: Bearer %s\r\n\r\n" % token).encode())
    return s


def fastcgi_record(kind, content, request_id=1):
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


def fastcgi_pair(name, value):
    return struct.pack(">BI", len(name), len(value) | 0x80000000) + name + value


def fastcgi_poll(token):
    """A whole FastCGI request, as nginx would send it, for the chat from
    its first message."""
    params = b"".join(fastcgi_pair(k, v) for k, v in (
        (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/api/messages?after=0&wait=0"),
        (b"QUERY_STRING", b"after=0&wait=0"), (b"HTTP_AUTHORIZATION", b"Bearer " + token.encode())))
    return (fastcgi_record(1, struct.pack(">HB5x", 1, 0)) + fastcgi_record(4, params) + fastcgi_record(4, b"")
            + fastcgi_record(5, b""))


def hung_up(s):
    """The peer closed its end (the bytes it sent may still be unread)."""
    poller = select.poll()
    poller.register(s, select.POLLRDHUP)
    return bool(poller.poll(0))


def read_to_end(s):
    """How many bytes are left to read from a peer that has hung up."""
    s.settimeout(5)
    total = 0
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return total
        total += len(chunk)


def unread_bytes(s):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def status_kib(process_id, field):
    with open("/proc/%d/status" % process_id) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, process_id))


class SlowReaders(unittest.TestCase):
    def test_640_slow_readers_leave_other_visitors_fast_and_the_program_small(self):
        with Stack() as stack:
            attacker = stack.open_session()
            fill_session(stack, attacker["session"])
            messages = pid(stack, "messages")
            rss_before = status_kib(messages, "VmRSS")

            readers = []
            try:
                for source in ADDRESSES:
                    readers += [slow_reader(stack, source, attacker["token"]) for _ in range(READERS_PER_ADDRESS)]
                # The attack is in place once nginx has begun sending every
                # reader its answer (bytes waiting, unread, in each socket).
                self.assertTrue(wait_for(lambda: all(unread_bytes(s) > 0 for s in readers), timeout=60, step=0.2),
                                "%d of %d slow readers got no byte" %
                                (sum(unread_bytes(s) == 0 for s in readers), len(readers)))

                slowest, answers = 0.0, []
                for v in range(VISITORS):
                    start = time.monotonic()
                    token = stack.open_session()["token"]
                    slowest = max(slowest, time.monotonic() - start)
                    for n in range(EXCHANGES):
                        for method, path, body in (("POST", "/api/messages", {"text": "visiteur %d, %d" % (v, n)}),
                                                   ("GET", "/api/messages?after=0&wait=0", None)):
                            start = time.monotonic()
                            answers.append(stack.request(method, path, body, token=token, timeout=60)[0])
                            slowest = max(slowest, time.monotonic() - start)
                self.assertEqual(answers, [201, 200] * (VISITORS * EXCHANGES))
                self.assertLess(slowest, FAST_SECONDS)
                peak = status_kib(messages, "VmHWM")
                rss = status_kib(messages, "VmRSS")
            finally:
                for s in readers:
                    s.close()
            self.assertEqual(pid(stack, "messages"), messages)  # no restart
            if not SANITIZED:
                self.assertLess(peak, MAX_PEAK_RSS_KIB)
            print("\nslow readers: %d connections from %d addresses; visitors' slowest answer %.3f s; "
                  "messages RSS %d KiB before, %d KiB during, peak %d KiB"
                  % (len(readers), len(ADDRESSES), slowest, rss_before, rss, peak))


class DirectPeer(unittest.TestCase):
    def test_a_fastcgi_peer_that_never_reads_holds_a_worker_only_until_the_write_deadline(self):
        # Behind nginx's buffers, the program's own guard: a peer on the
        # socket itself (only nginx's group may connect; here the socket's
        # owner) that asks for the large answer and never reads. With 4
        # workers and 8 such peers, a send through nginx still answers once
        # the deadlines free the workers, and every peer is hung up on.
        with Stack(env={"ABRI_THREADS": "4"}) as stack:
            attacker = stack.open_session()
            fill_session(stack, attacker["session"])
            visitor = stack.open_session()["token"]
            peers = []
            try:
                for _ in range(8):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                    s.connect(stack.prefix + "/run/messages.sock")
                    s.sendall(fastcgi_poll(attacker["token"]))
                    peers.append(s)
                start = time.monotonic()
                status = stack.request("POST", "/api/messages", {"text": "toujours là"}, token=visitor)[0]
                waited = time.monotonic() - start
                self.assertEqual(status, 201)
                self.assertLess(waited, 2 * ANSWER_WRITE_SECONDS + 2)
                # The program hung up on every peer, unread as they are,
                # and each got only part of its answer.
                self.assertTrue(wait_for(lambda: all(hung_up(s) for s in peers),
                                         timeout=8 * ANSWER_WRITE_SECONDS, step=0.1),
                                "the program still holds a connection that never read")
                for s in peers:
                    self.assertLess(read_to_end(s), MESSAGES * MESSAGE_BYTES)
                print("\ndirect peers: 8 never reading, 4 workers; a send answered in %.2f s" % waited)
            finally:
                for s in peers:
                    s.close()


if __name__ == "__main__":
    unittest.main()
