"""Overload: far more long-polls than worker threads, polls past nginx's
per-address connection limit, bursts of sends, of new sessions and of
operators' logins. Each answer is a success or the JSON 429/503, none
hangs, nothing acknowledged is lost, and the service recovers by itself
when the load stops."""
import os
import socket
import threading
import time
import unittest

from hostile import connections, pid, wait_for
from operators import PASSWORD, add_operator
from stack import Stack, StackCase

OK_OR_REFUSED = (201, 429, 503)


def burst(count, call):
    """Runs `call(i)` from `count` threads released at once; returns the answers."""
    barrier = threading.Barrier(count)
    answers = [None] * count

    def run(i):
        barrier.wait()
        try:
            answers[i] = call(i)
        except OSError as error:
            answers[i] = (0, repr(error), {})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def threads(process_id):
    return len(os.listdir("/proc/%d/task" % process_id))


class Overload(StackCase):
    # Workers leave after a second without a request (ABRI_WORKER_IDLE),
    # so that a test sees them go without a long wait.
    stack_env = {"ABRI_THREADS": "2", "ABRI_WORKER_IDLE": "1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = [cls.stack.open_session()["token"] for _ in range(80)]

    def assert_json_refusal(self, answer, statuses):
        status, body, headers = answer
        self.assertIn(status, statuses, body)
        if status >= 400:
            self.assertTrue(headers.get("Content-Type", "").startswith("application/json"), answer)
            self.assertEqual(set(body), {"error"}, body)

    def test_many_more_long_polls_than_threads_wait_without_blocking_sends(self):
        tokens = self.tokens[:60]  # under nginx's 64 connections per address
        # Past what other tests of the class sent, so that every poll waits.
        seen = {t: max([m["id"] for m in self.stack.request("GET", "/api/messages?wait=0", token=t)[1]["messages"]],
                       default=0) for t in tokens}
        messages = pid(self.stack, "messages")
        idle = connections(messages)
        answers = {}
        polls = [threading.Thread(target=lambda t=t: answers.__setitem__(
            t, self.stack.request("GET", "/api/messages?after=%d&wait=20" % seen[t], token=t, timeout=40)))
            for t in tokens]
        for p in polls:
            p.start()
        self.assertTrue(wait_for(lambda: connections(messages) >= idle + 60), "the polls did not all arrive")
        # 60 waiting polls, 2 threads: a send still goes through at once.
        start = time.monotonic()
        self.assertEqual(self.stack.request("POST", "/api/messages", {"text": "à travers"}, token=tokens[0])[0], 201)
        self.assertLess(time.monotonic() - start, 3)
        for t in tokens[1:]:
            self.stack.request("POST", "/api/messages", {"text": "réveil"}, token=t)
        for p in polls:
            p.join(30)
        self.assertEqual(len(answers), 60)
        for t, (status, body, _) in answers.items():
            self.assertEqual(status, 200, body)
            self.assertTrue(body["messages"], "a poll was not woken")

    def test_polls_past_the_per_address_limit_get_a_json_429_at_once(self):
        messages = pid(self.stack, "messages")
        idle = connections(messages)
        sockets = []
        for token in self.tokens[:80]:
            s = socket.create_connection(("127.0.0.1", self.stack.port))
            s.sendall(("GET /api/messages?after=9000000000&wait=15 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                       % token).encode())
            s.setblocking(False)
            sockets.append(s)
        refusals = {}  # socket index: the head nginx answered

        def all_refused_or_parked():
            for i, s in enumerate(sockets):
                if i not in refusals:
                    try:
                        refusals[i] = s.recv(4096)
                    except BlockingIOError:
                        pass  # parked (or not yet answered)
            return len(refusals) + connections(messages) - idle >= 80
        try:
            self.assertTrue(wait_for(all_refused_or_parked), "neither refused nor parked: %d" % len(refusals))
        finally:
            for s in sockets:
                s.close()
        for head in refusals.values():
            self.assertIn(b" 429 ", head.split(b"\r\n")[0])
            self.assertIn(b"application/json", head)
            self.assertIn(b'"too_many_requests"', head)
        self.assertGreaterEqual(len(refusals), 80 - 64)
        self.assertLess(len(refusals), 80)
        # The load gone, polls are served again.
        self.assertTrue(wait_for(lambda: self.stack.request("GET", "/api/messages?wait=0",
                                                            token=self.tokens[0])[0] == 200, step=0.1))

    def test_a_burst_of_sends_gets_201_429_or_503_and_loses_nothing(self):
        texts = ["rafale %d" % i for i in range(150)]
        answers = burst(150, lambda i: self.stack.request("POST", "/api/messages", {"text": texts[i]},
                                                          token=self.tokens[i % 80], timeout=30))
        for answer in answers:
            self.assertIsNotNone(answer)
            self.assert_json_refusal(answer, OK_OR_REFUSED)
        acknowledged = {(a[1]["id"], texts[i]) for i, a in enumerate(answers) if a[0] == 201}
        self.assertTrue(acknowledged)
        stored = set(self.stack.sql("SELECT id, text FROM messages WHERE text LIKE 'rafale %'"))
        self.assertTrue(acknowledged <= stored)
        # Once a second again for a session past its burst (ABRI_SEND_BURST).
        self.assertTrue(wait_for(lambda: self.stack.request("POST", "/api/messages", {"text": "après"},
                                                            token=self.tokens[0])[0] == 201, step=0.2))

    def test_workers_that_leave_when_idle_do_not_take_the_program_down(self):
        # Regression: a worker idle for ABRI_WORKER_IDLE leaves (lib/pool.cpp)
        # and called malloc_trim, which crashes the program under
        # AddressSanitizer (`make test SANITIZE=1`): every burst was
        # followed by a restart.
        before = {name: pid(self.stack, name) for name in ("messages", "session")}
        messages = before["messages"]
        peak = [threads(messages)]
        bursting = threading.Event()

        def count_threads():
            while not bursting.is_set():
                peak[0] = max(peak[0], threads(messages))
                time.sleep(0.005)
        counter = threading.Thread(target=count_threads)
        counter.start()
        try:
            answers = burst(20, lambda i: self.stack.request("POST", "/api/messages", {"text": "avant repos %d" % i},
                                                             token=self.tokens[i], timeout=30))
        finally:
            bursting.set()
            counter.join()
        self.assertTrue(all(a[0] in OK_OR_REFUSED for a in answers))
        # A second worker served the burst; idle, it leaves (one stays).
        self.assertTrue(wait_for(lambda: threads(messages) < peak[0]), "no worker left (peak %d)" % peak[0])
        self.assertEqual({name: pid(self.stack, name) for name in ("messages", "session")}, before)
        self.assertNotIn("stopped", self.stack.read_log())
        self.assertEqual(self.stack.request("POST", "/api/messages", {"text": "après repos"},
                                            token=self.tokens[0])[0], 201)


class SessionRate(unittest.TestCase):
    def test_a_burst_of_new_sessions_past_the_rate_is_429_then_recovers(self):
        # The production rate (5 per second per address, burst 20).
        with Stack(session_rate="5r/s") as stack:
            answers = burst(60, lambda i: stack.request("POST", "/api/session", {"postcode": "75011", "role": "victim"}))
            statuses = [a[0] for a in answers]
            self.assertIn(429, statuses)
            self.assertGreaterEqual(statuses.count(201), 15)
            for answer in answers:
                status, body, headers = answer
                self.assertIn(status, (201, 429), body)
                if status == 429:
                    self.assertEqual(body["error"]["code"], "too_many_requests")
            self.assertEqual(stack.sql("SELECT count(*) FROM sessions")[0][0], statuses.count(201))
            self.assertTrue(wait_for(lambda: stack.request("POST", "/api/session",
                                                           {"postcode": "75011", "role": "victim"})[0] == 201, step=0.2))

    def test_a_burst_of_logins_is_bounded_and_the_right_password_works_after(self):
        # Each login costs an Argon2 verification, two at a time at most
        # (lib/limits.hpp): a burst is answered 401, 429 or 503, never hangs.
        with Stack() as stack:
            add_operator(stack, "cible", "PP-75")
            start = time.monotonic()
            answers = burst(40, lambda i: stack.request("POST", "/api/agent/login",
                                                        {"username": "inconnu%d" % (i % 5), "password": "x" * 20},
                                                        timeout=30))
            self.assertLess(time.monotonic() - start, 30)
            for answer in answers:
                status, body, headers = answer
                self.assertIn(status, (401, 429, 503), body)
                self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
            status, body, _ = stack.request("POST", "/api/agent/login", {"username": "cible", "password": PASSWORD})
            self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
