"""Queue flood (issue 13): 560 new sessions from 10 loopback addresses in
a few seconds. Past ABRI_WORK_AFTER new sessions a minute, each new
session costs its maker a proof of work (lib/work.hpp), so the flood is
refused with `429 work_required` at a MAC per request, while a visitor who
does the work still gets a session, and a challenge can be neither used
twice nor made up.

What it costs the attacker: every session past the threshold is 2^18
SHA-256 on average (2^20 once the rate is four times the threshold), found
by brute force; checking it costs the server one hash and one MAC. The
measured figures are printed by the test that pays them."""
import base64
import hashlib
import http.client
import itertools
import json
import threading
import time
import unittest

from stack import Stack

AFTER = 30          # ABRI_WORK_AFTER of this stack: new sessions a minute that are free
FLOOD = 560
ADDRESSES = ["127.0.%d.%d" % (1 + i // 5, 10 + i) for i in range(10)]  # nginx keys its limits per address
WORK_BITS = 18      # limits::kWorkBits
OPEN = {"postcode": "75011", "role": "victim"}


def open_session_from(stack, address, body=OPEN):
    """POST /api/session from `address`; returns (status, parsed body)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30, source_address=(address, 0))
    try:
        conn.request("POST", "/api/session", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def solve(work):
    """What www/js/work.js does: the first decimal nonce that fits."""
    prefix = (work["challenge"] + ":").encode()
    shift = 256 - work["bits"]
    for nonce in itertools.count():
        digest = hashlib.sha256(prefix + str(nonce).encode()).digest()
        if int.from_bytes(digest, "big") >> shift == 0:
            return str(nonce)


def with_work(work, nonce):
    return dict(OPEN, work_challenge=work["challenge"], work_nonce=nonce)


class Flood(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"ABRI_WORK_AFTER": str(AFTER)}).start()
        cls.started = time.monotonic()
        cls.answers = cls.flood()
        cls.flood_seconds = time.monotonic() - cls.started

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def flood(cls):
        """FLOOD creations from ADDRESSES, one thread per address."""
        answers = []
        lock = threading.Lock()

        def attacker(address):
            for _ in range(FLOOD // len(ADDRESSES)):
                answer = open_session_from(cls.stack, address)
                with lock:
                    answers.append(answer)

        threads = [threading.Thread(target=attacker, args=(a,)) for a in ADDRESSES]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return answers

    def sessions(self):
        return self.stack.sql("SELECT count(*) FROM sessions")[0][0]

    def ask_for_work(self):
        status, body = open_session_from(self.stack, ADDRESSES[0])
        self.assertEqual(status, 429, body)
        return body["error"]["work"]

    def test_past_the_threshold_the_flood_is_asked_for_work_and_gets_no_session(self):
        self.assertLess(self.flood_seconds, 60, "the flood must fit in the gate's minute")
        statuses = [status for status, _ in self.answers]
        self.assertEqual(len(statuses), FLOOD)
        self.assertEqual(statuses.count(201), AFTER)
        self.assertEqual(statuses.count(429), FLOOD - AFTER)
        challenges = set()
        for status, body in self.answers:
            if status != 429:
                continue
            error = body["error"]
            self.assertEqual(set(body), {"error"})
            self.assertEqual(set(error), {"code", "message", "work"})
            self.assertEqual(error["code"], "work_required")
            self.assertEqual(error["work"]["bits"], WORK_BITS)
            challenges.add(error["work"]["challenge"])
        self.assertEqual(len(challenges), FLOOD - AFTER, "every challenge is new")
        self.assertLessEqual(self.sessions(), AFTER + 2)  # + the valid work of the tests below
        print("\n  the flood: %d requests from %d addresses in %.1f s, %d sessions, %d asked for work"
              % (FLOOD, len(ADDRESSES), self.flood_seconds, AFTER, FLOOD - AFTER))

    def test_a_visitor_who_does_the_work_gets_a_session(self):
        work = self.ask_for_work()
        start = time.monotonic()
        nonce = solve(work)
        solved = time.monotonic() - start
        status, body = open_session_from(self.stack, ADDRESSES[1], with_work(work, nonce))
        self.assertEqual(status, 201, body)
        self.assertTrue(body["token"])
        print("\n  one session's work: %d hashes, %.2f s of Python's hashlib (one core); "
              "checking it: one SHA-256 and one MAC" % (int(nonce) + 1, solved))

    def test_a_replayed_challenge_is_refused(self):
        work = self.ask_for_work()
        paid = with_work(work, solve(work))
        self.assertEqual(open_session_from(self.stack, ADDRESSES[2], paid)[0], 201)
        before = self.sessions()
        for address in ADDRESSES[2:4]:  # from the same address and from another
            status, body = open_session_from(self.stack, address, paid)
            self.assertEqual(status, 429, body)
            self.assertEqual(body["error"]["code"], "work_required")
        self.assertEqual(self.sessions(), before)

    def test_a_forged_or_altered_challenge_is_refused(self):
        work = self.ask_for_work()
        raw = bytearray(base64.urlsafe_b64decode(work["challenge"] + "="))
        raw[4] = 1  # asks for 1 bit instead of 18: the MAC no longer matches
        easy = {"challenge": base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="), "bits": 1}
        made_up = {"challenge": base64.urlsafe_b64encode(b"\0" * 29).decode().rstrip("="), "bits": 1}
        before = self.sessions()
        for forged in (easy, made_up):
            status, body = open_session_from(self.stack, ADDRESSES[4], with_work(forged, solve(forged)))
            self.assertEqual(status, 429, body)
            self.assertEqual(body["error"]["code"], "work_required")
        self.assertEqual(self.sessions(), before)


if __name__ == "__main__":
    unittest.main()
