"""The purge, and proof that nothing of an erased chat remains in any file."""
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import stat
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from hostile import assert_error
from operators import Operator
from stack import BIN, Stack, StackCase, UNLIMITED_SENDS


MESSAGES_PER_SESSION = 2000  # limits::kMaxSessionMessages


def marker():
    return "MARKER" + secrets.token_hex(12).upper()


def database_bytes(stack):
    """Every byte of the database's files: main, -wal, -shm."""
    blob = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(stack.db + suffix):
            with open(stack.db + suffix, "rb") as f:
                blob += f.read()
    return blob


def admin_request(stack, method, path):
    """A request to the administrator's nginx server, on its unix socket
    (deploy/nginx/abri-http.conf.in); returns (status, parsed JSON or
    text)."""
    class Connection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(40)
            self.sock.connect(os.path.join(stack.prefix, "admin", "admin.sock"))
    conn = Connection("localhost")
    conn.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.getheader("Content-Type", "").startswith("application/json"):
        return response.status, json.loads(payload)
    return response.status, payload.decode()


def fastcgi_request(method, uri, body):
    """A whole FastCGI request with its body, as nginx would send it."""
    def record(kind, content):
        return struct.pack(">BBHHBB", 1, kind, 1, len(content), 0, 0) + content

    def pair(name, value):
        return struct.pack(">BI", len(name), len(value) | 0x80000000) + name + value
    params = b"".join(pair(k, v) for k, v in (
        (b"REQUEST_METHOD", method), (b"REQUEST_URI", uri), (b"QUERY_STRING", b""),
        (b"CONTENT_TYPE", b"application/json"), (b"CONTENT_LENGTH", str(len(body)).encode())))
    return (record(1, struct.pack(">HB5x", 1, 0)) + record(4, params) + record(4, b"")
            + record(5, body) + record(5, b""))


def fastcgi_stdout(s):
    """The program's answer: its FastCGI stdout records up to the end of the request."""
    out = b""
    while True:
        header = b""
        while len(header) < 8:
            chunk = s.recv(8 - len(header))
            if not chunk:
                raise AssertionError("the program hung up before the end of the request")
            header += chunk
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", header)
        content = b""
        while len(content) < length + padding:
            content += s.recv(length + padding - len(content))
        if kind == 6:
            out += content[:length]
        if kind == 3:
            return out


def run_purge(stack):
    return subprocess.run([os.path.join(BIN, "purge")], env=stack.program_env(), capture_output=True, text=True)


class PurgeLeavesNoTrace(unittest.TestCase):
    def test_no_marker_of_an_ended_chat_remains_in_any_file(self):
        with Stack() as stack:
            operator = Operator(stack)
            ended, live = [], []

            def chat(words):
                body = stack.open_session()
                for word in words:
                    self.assertEqual(stack.request("POST", "/api/messages", {"text": word},
                                                   token=body["token"])[0], 201)
                return body

            # Long messages too: their text lives in overflow pages.
            def words(n):
                out = [marker() for _ in range(n)]
                out.append("🙂" * 900 + out[0] + "é" * 900)
                return out

            closed = chat(words(3))
            closed_words = [m for m in stack.sql("SELECT text FROM messages m JOIN sessions s ON s.id = "
                                                 "m.session_id WHERE s.public_id = ?", closed["session"])]
            operator_text = marker()
            self.assertEqual(operator.claim(closed["session"])[0], 200)
            self.assertEqual(operator.say(closed["session"], operator_text)[0], 201)
            self.assertEqual(operator.close(closed["session"])[0], 200)
            ended += [row[0] for row in closed_words] + [operator_text]

            left = chat(words(2))
            ended += [row[0] for row in stack.sql("SELECT text FROM messages m JOIN sessions s ON s.id = "
                                                  "m.session_id WHERE s.public_id = ?", left["session"])]
            stack.request("POST", "/api/session/leave", {"quick": True}, token=left["token"])
            # An hour passes: the operator's time to act on a left chat is over.
            stack.sql("UPDATE sessions SET ended_at = ended_at - 3601 WHERE public_id = ?", left["session"])

            erased = chat(words(2))
            ended += [row[0] for row in stack.sql("SELECT text FROM messages m JOIN sessions s ON s.id = "
                                                  "m.session_id WHERE s.public_id = ?", erased["session"])]
            self.assertEqual(stack.request("DELETE", "/api/session", token=erased["token"])[0], 204)

            expired = chat(words(2))
            ended += [row[0] for row in stack.sql("SELECT text FROM messages m JOIN sessions s ON s.id = "
                                                  "m.session_id WHERE s.public_id = ?", expired["session"])]
            # Half an hour passes without a call from this visitor.
            stack.sql("UPDATE sessions SET last_seen = last_seen - 1801, created_at = created_at - 1801 "
                      "WHERE public_id = ?", expired["session"])

            for _ in range(3):
                body = stack.open_session()
                texts = words(2)
                for text in texts:
                    stack.request("POST", "/api/messages", {"text": text}, token=body["token"])
                live.append((body["token"], texts))

            self.assertTrue(all(m for m in ended))
            done = run_purge(stack)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertRegex(done.stdout, r"^purge: erased 3 sessions and \d+ messages in [\d.]+ s; "
                                          r"write-ahead log truncated\n$")

            blob = database_bytes(stack)
            self.assertGreater(len(blob), 4096)
            erased_markers = {m for text in ended for m in re.findall(r"MARKER[0-9A-F]{24}", text)}
            self.assertGreaterEqual(len(erased_markers), 10)
            for m in erased_markers:
                self.assertNotIn(m.encode(), blob)
            for token, texts in live:
                status, body, _ = stack.request("GET", "/api/messages?after=0&wait=0", token=token)
                self.assertEqual(status, 200)
                self.assertEqual([m["text"] for m in body["messages"]], texts)
                for text in texts[:-1]:
                    self.assertIn(text.encode(), blob)


class ErasuresAndTheAdministratorsSocket(StackCase):
    """One stack for these: each looks at its own sessions only."""

    def test_delete_session_scrubs_the_files_without_waiting_for_the_purge(self):
        body = self.stack.open_session()
        secret = marker()
        self.stack.request("POST", "/api/messages", {"text": secret}, token=body["token"])
        self.assertEqual(self.stack.request("DELETE", "/api/session", token=body["token"])[0], 204)
        self.assertNotIn(secret.encode(), database_bytes(self.stack))
        self.assertEqual(os.path.getsize(self.stack.db + "-wal"), 0)

    def test_a_left_chat_stays_for_its_operator_until_the_hour_is_over(self):
        body = self.stack.open_session()
        self.stack.request("POST", "/api/session/leave", {"quick": False}, token=body["token"])
        run_purge(self.stack)
        self.assertEqual(self.stack.sql("SELECT count(*) FROM sessions WHERE public_id = ?", body["session"]), [(1,)])

    def test_purge_prints_an_error_and_fails_on_a_missing_database(self):
        env = dict(self.stack.program_env(), ABRI_DB=os.path.join(self.stack.dir, "nowhere", "abri.db"))
        done = subprocess.run([os.path.join(BIN, "purge")], env=env, capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertIn("purge:", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_admin_endpoint_purges_on_the_administrators_socket_only(self):
        body = self.stack.open_session()
        self.stack.sql("UPDATE sessions SET last_seen = last_seen - 5000 WHERE public_id = ?", body["session"])
        admin = os.stat(os.path.join(self.stack.prefix, "admin"))
        self.assertEqual(stat.S_IMODE(admin.st_mode), 0o700)
        self.assertEqual(admin.st_uid, os.geteuid())
        before = self.stack.sql("SELECT count(*) FROM sessions")[0][0]
        status, answer = admin_request(self.stack, "POST", "/api/admin/purge")
        self.assertEqual(status, 200, answer)
        self.assertEqual(self.stack.sql("SELECT count(*) FROM sessions WHERE public_id = ?", body["session"]), [(0,)])
        self.assertEqual(answer["sessions"], before - self.stack.sql("SELECT count(*) FROM sessions")[0][0])
        self.assertTrue(answer["scrubbed"])
        self.assertEqual(admin_request(self.stack, "GET", "/api/admin/purge")[0], 405)
        self.assertEqual(admin_request(self.stack, "POST", "/api/messages"), (404, {"error": {
            "code": "not_found", "message": "Cette adresse n'existe pas."}}))

    def test_purge_started_under_fastcgi_serves_the_admins_purge(self):
        # The contract: "the same program serves the purge as a FastCGI
        # endpoint for admins when started under FastCGI" (as spawn-fcgi
        # or a systemd socket unit start it: standard input listening).
        folder = tempfile.mkdtemp(prefix="abri-purge-fcgi-")
        path = os.path.join(folder, "purge.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(4)
        program = subprocess.Popen([os.path.join(BIN, "purge")], stdin=listener.fileno(),
                                   env=self.stack.program_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        listener.close()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(20)
                s.connect(path)
                s.sendall(fastcgi_request(b"POST", b"/api/admin/purge", b"{}"))
                answer = fastcgi_stdout(s)
        finally:
            program.terminate()
            program.wait(timeout=20)
            shutil.rmtree(folder)
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 200 "), head)
        self.assertEqual(set(json.loads(body)), {"sessions", "messages", "seconds", "scrubbed"})

    def test_metrics_are_served_on_the_administrators_socket_only(self):
        def waiting():
            status, text = admin_request(self.stack, "GET", "/api/admin/metrics")
            self.assertEqual(status, 200, text)
            self.assertIn("# TYPE abri_waiting gauge", text)
            return sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("abri_waiting{"))
        before = waiting()
        self.stack.open_session()
        self.assertEqual(waiting(), before + 1)
        for source in ("127.0.0.1", "127.0.3.9"):
            with self.subTest(source=source):
                conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=10,
                                                  source_address=(source, 0))
                conn.request("GET", "/api/admin/metrics")
                response = conn.getresponse()
                answer = (response.status, json.loads(response.read()), dict(response.getheaders()))
                conn.close()
                assert_error(self, answer, 404, "not_found")

    def test_public_server_answers_404_to_admin_purge_from_any_address(self):
        # Loopback included: a TLS terminator on the same host would make
        # every visitor look like 127.0.0.1.
        body = self.stack.open_session()
        self.stack.sql("UPDATE sessions SET last_seen = last_seen - 5000 WHERE public_id = ?", body["session"])
        for source in ("127.0.0.1", "127.0.3.9", "127.255.0.2"):
            with self.subTest(source=source):
                conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=10,
                                                  source_address=(source, 0))
                conn.request("POST", "/api/admin/purge", body=b"{}",
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                answer = (response.status, json.loads(payload), dict(response.getheaders()))
                assert_error(self, answer, 404, "not_found")
        # Nothing was purged.
        self.assertEqual(self.stack.sql("SELECT count(*) FROM sessions WHERE public_id = ?", body["session"]), [(1,)])


class PurgeUnderLoad(unittest.TestCase):
    def test_purging_100000_sessions_while_visitors_send_loses_nothing(self):
        with Stack(env=UNLIMITED_SENDS) as stack:
            now = int(time.time())
            with sqlite3.connect(stack.db, timeout=30) as db:
                unit = db.execute("SELECT id FROM units LIMIT 1").fetchone()[0]
                db.executemany(
                    "INSERT INTO sessions (public_id, token_hash, unit_id, role, created_at, last_seen) "
                    "VALUES (?, ?, ?, 'victim', ?, ?)",
                    (("p%09d" % i, "H%063d" % i, unit, now - 90000, now - 90000) for i in range(100000)))
                first = db.execute("SELECT min(id) FROM sessions").fetchone()[0]
                db.executemany("INSERT INTO messages (session_id, sender, text, at) VALUES (?, 'visitor', ?, ?)",
                               ((first + i // 3, "old message %d" % i, now - 90000) for i in range(300000)))
            visitors = [stack.open_session()["token"] for _ in range(8)]
            acknowledged, failures = [], []
            stop = threading.Event()

            def keep_sending(token):
                n = 0
                while not stop.is_set():
                    if n == MESSAGES_PER_SESSION:  # a slow purge: this one is full, the visitor goes on in a new one
                        token, n = stack.open_session()["token"], 0
                        visitors.append(token)
                    text = "live %s %d" % (token[:6], n)
                    status, body, _ = stack.request("POST", "/api/messages", {"text": text}, token=token)
                    if status == 201:
                        acknowledged.append((token, body["id"], text))
                    else:
                        failures.append((status, body))
                    n += 1

            threads = [threading.Thread(target=keep_sending, args=(t,)) for t in visitors]
            for t in threads:
                t.start()
            purges = [subprocess.Popen([os.path.join(BIN, "purge")], env=stack.program_env(),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
            outputs = [p.communicate(timeout=300) for p in purges]
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual([p.returncode for p in purges], [0, 0], outputs)
            self.assertEqual(failures, [])
            self.assertGreater(len(acknowledged), 50)
            erased = sum(int(out.split()[2]) for out, _ in outputs)
            self.assertEqual(erased, 100000)
            self.assertEqual(stack.sql("SELECT count(*) FROM sessions WHERE public_id GLOB 'p*'"), [(0,)])
            self.assertEqual(stack.sql("SELECT count(*) FROM messages WHERE text LIKE 'old message%'"), [(0,)])
            for token in visitors:
                got = {(m["id"], m["text"]) for m in stack.every_message(token)}
                mine = {(i, text) for t, i, text in acknowledged if t == token}
                self.assertTrue(mine <= got, "acknowledged messages missing after the purge")


if __name__ == "__main__":
    unittest.main()
