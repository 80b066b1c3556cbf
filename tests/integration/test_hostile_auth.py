"""Authorization, table-driven: every endpoint of the victims and of the
operators (cgi/messages.cpp, cgi/agent.cpp) tried with no credentials,
with the other side's credentials, with another session's or another
unit's, with expired, erased, left or logged-out ones, and with a cookie
but no (or another operator's) CSRF value. Each is refused with the
contract's error shape, carries none of the chat's data, and changes
nothing.

Then the logins under attack (issue 13): 25 wrong passwords at once verify
no more than the free failures allow, and the operator's known browser
(its device cookie) still logs in while every other client is locked out;
72 logins at once from 12 source addresses queue for the Argon2 slots
instead of being answered 503; a name without an account is kept only as
a keyed hash."""
import collections
import hashlib
import http.client
import json
import os
import re
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from hostile import assert_error
from operators import PASSWORD, Operator, add_operator
from stack import ROOT, StackCase


def limit(name):
    """A limit of lib/limits.hpp, read from the source: the tests follow it."""
    with open(os.path.join(ROOT, "lib", "limits.hpp")) as f:
        return int(re.search(r"\b%s = (\d+);" % name, f.read()).group(1))

SECRET = "Texte confidentiel de la session de Paris"
SECRET_B = "Texte confidentiel de Marseille"

VICTIM_ENDPOINTS = [
    ("GET", "/api/messages?after=0&wait=0", None),
    ("POST", "/api/messages", {"text": "intrusion"}),
    ("POST", "/api/session/leave", {"quick": True}),
    ("DELETE", "/api/session", None),
]

# {s}: the public id of the Paris session, held by the Paris operator.
OPERATOR_ENDPOINTS = [
    ("POST", "/api/agent/logout", None, True),
    ("GET", "/api/agent/me", None, False),
    ("GET", "/api/agent/units", None, False),
    ("GET", "/api/agent/events?wait=0", None, False),
    ("POST", "/api/agent/sessions/{s}/claim", None, True),
    ("POST", "/api/agent/sessions/{s}/messages", {"text": "intrusion"}, True),
    ("POST", "/api/agent/sessions/{s}/transfer", {"unit": "DDSP-13"}, True),
    ("POST", "/api/agent/sessions/{s}/close", None, True),
    ("GET", "/api/agent/sessions/{s}/export", None, False),
]
SESSION_ENDPOINTS = [e for e in OPERATOR_ENDPOINTS if "{s}" in e[1]]


def cookie_hash(cookie_header):
    """What the database keeps of an operator's cookie (lib/token.cpp)."""
    return hashlib.blake2b(cookie_header.split("=", 1)[1].encode(), digest_size=32).hexdigest()


def bearer(token):
    return {"Authorization": "Bearer " + token}


class Authorization(StackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "paris", "PP-75")
        add_operator(cls.stack, "marseille", "DDSP-13")
        cls.paris = Operator(cls.stack, "paris")
        cls.marseille = Operator(cls.stack, "marseille")
        # A Paris chat held by the Paris operator, a Marseille chat waiting.
        opened = cls.stack.open_session("75011")
        cls.token, cls.session = opened["token"], opened["session"]
        cls.send(cls.token, SECRET)
        status, body, _ = cls.paris.call("POST", "/api/agent/sessions/%s/claim" % cls.session)
        assert status == 200, body
        cls.paris.call("POST", "/api/agent/sessions/%s/messages" % cls.session, {"text": SECRET + " (réponse)"})
        other = cls.stack.open_session("13001")
        cls.token_b, cls.session_b = other["token"], other["session"]
        cls.send(cls.token_b, SECRET_B)

    @classmethod
    def send(cls, token, text):
        status, body, _ = cls.stack.request("POST", "/api/messages", {"text": text}, token=token)
        assert status == 201, body

    @classmethod
    def snapshot(cls):
        """What a refused call must not change."""
        return (cls.stack.sql("SELECT public_id, state, agent_id, unit_id FROM sessions ORDER BY id"),
                cls.stack.sql("SELECT session_id, sender, text FROM messages ORDER BY id"),
                cls.stack.sql("SELECT count(*) FROM agent_logins"))

    def setUp(self):
        self.before = self.snapshot()

    def tearDown(self):
        self.assertEqual(self.snapshot(), self.before, "a refused call changed the database")

    def call(self, method, path, body, headers):
        return self.stack.request(method, path.replace("{s}", self.session), body, headers=headers)

    def assert_refused(self, answer, status, code=None):
        assert_error(self, answer, status, code)
        text = str(answer[1])
        for secret in (SECRET, SECRET_B, self.session, self.session_b, "Paris", "Marseille", "PP-75"):
            self.assertNotIn(secret, text)

    def dead_token(self, how):
        """A victim token that no longer opens anything: expired, erased or left."""
        token = self.stack.open_session("75011")["token"]
        if how == "expired":
            # Expiry is computed at every lookup: a session idle for longer
            # than ABRI_IDLE_TTL is refused before any purge.
            self.stack.sql("UPDATE sessions SET last_seen = last_seen - 7200, created_at = created_at - 7200 "
                           "WHERE id = (SELECT max(id) FROM sessions)")
        elif how == "erased":
            self.assertEqual(self.stack.request("DELETE", "/api/session", token=token)[0], 204)
        elif how == "left":
            self.assertEqual(self.stack.request("POST", "/api/session/leave", {"quick": False}, token=token)[0], 204)
        self.before = self.snapshot()
        return token

    def dead_cookie(self, how):
        """An operator's cookie (with its CSRF) that no longer opens anything."""
        op = Operator(self.stack, "paris")
        if how == "expired":
            self.stack.sql("UPDATE agent_logins SET expires_at = ? WHERE cookie_hash = ?",
                           int(time.time()) - 1, cookie_hash(op.cookie))
        else:
            self.assertEqual(op.call("POST", "/api/agent/logout")[0], 204)
        self.before = self.snapshot()
        return op

    # -- victims' endpoints ---------------------------------------------------------
    def test_victim_endpoints_without_a_token_are_401(self):
        for method, path, body in VICTIM_ENDPOINTS:
            with self.subTest(method=method, path=path):
                self.assert_refused(self.call(method, path, body, {}), 401, "session_expired")

    def test_victim_endpoints_with_an_operators_cookie_are_401(self):
        for method, path, body in VICTIM_ENDPOINTS:
            with self.subTest(method=method, path=path):
                self.assert_refused(self.call(method, path, body, self.paris.headers()), 401, "session_expired")

    def test_victim_endpoints_with_a_malformed_or_unknown_token_are_401(self):
        for header in ({"Authorization": "Bearer " + "A" * 43}, {"Authorization": "Bearer " + self.token + "x"},
                       {"Authorization": "bearer " + self.token}, {"Authorization": "Basic " + self.token},
                       {"Authorization": "Bearer " + self.session}, {"Cookie": "abri_agent=" + self.token}):
            for method, path, body in VICTIM_ENDPOINTS:
                with self.subTest(method=method, path=path, header=str(header)[:30]):
                    self.assert_refused(self.call(method, path, body, header), 401, "session_expired")

    def test_victim_endpoints_with_an_expired_erased_or_left_token_are_401(self):
        for how in ("expired", "erased", "left"):
            token = self.dead_token(how)
            for method, path, body in VICTIM_ENDPOINTS:
                with self.subTest(how=how, method=method, path=path):
                    self.assert_refused(self.call(method, path, body, bearer(token)), 401, "session_expired")

    def test_a_token_reaches_its_own_session_only(self):
        # There is no session id in a victim's URL: another session's token
        # reads that session, never this one, and a session named in the
        # query is refused.
        status, body, _ = self.call("GET", "/api/messages?after=0&wait=0", None, bearer(self.token_b))
        self.assertEqual(status, 200)
        self.assertEqual([m["text"] for m in body["messages"]], [SECRET_B])
        self.assertNotIn(SECRET, str(body))
        for query in ("session=" + self.session, "token=" + self.token, "after=0&wait=0&id=1"):
            with self.subTest(query=query):
                self.assert_refused(self.call("GET", "/api/messages?" + query, None, bearer(self.token_b)), 400)

    # -- operators' endpoints -------------------------------------------------------
    def test_operator_endpoints_without_a_cookie_are_401(self):
        for method, path, body, _ in OPERATOR_ENDPOINTS:
            for headers in ({}, {"X-Abri-CSRF": self.paris.csrf}):
                with self.subTest(method=method, path=path, csrf=bool(headers)):
                    self.assert_refused(self.call(method, path, body, headers), 401, "login_required")

    def test_operator_endpoints_with_a_victims_token_are_401(self):
        for method, path, body, _ in OPERATOR_ENDPOINTS:
            with self.subTest(method=method, path=path):
                self.assert_refused(self.call(method, path, body, bearer(self.token)), 401, "login_required")

    def test_operator_endpoints_with_a_malformed_cookie_are_401(self):
        for cookie in ("abri_agent=" + "A" * 43, "abri_agent=", "abri_agent=" + self.paris.cookie,
                       self.paris.cookie.replace("abri_agent", "__Host-abri_agent"),
                       "x" + self.paris.cookie, "abri_agent=" + self.token):
            for method, path, body, _ in OPERATOR_ENDPOINTS:
                with self.subTest(method=method, path=path, cookie=cookie[:30]):
                    headers = {"Cookie": cookie, "X-Abri-CSRF": self.paris.csrf}
                    self.assert_refused(self.call(method, path, body, headers), 401, "login_required")

    def test_operator_endpoints_with_an_expired_or_logged_out_cookie_are_401(self):
        for how in ("expired", "logged out"):
            op = self.dead_cookie(how)
            for method, path, body, _ in OPERATOR_ENDPOINTS:
                with self.subTest(how=how, method=method, path=path):
                    self.assert_refused(self.call(method, path, body, op.headers()), 401, "login_required")

    def test_state_changing_calls_with_a_cookie_but_no_csrf_are_403(self):
        for method, path, body, changes in OPERATOR_ENDPOINTS:
            if not changes:
                continue
            for csrf in (None, "", self.marseille.csrf, self.paris.csrf[:-1], self.paris.csrf + "x", self.paris.cookie):
                with self.subTest(path=path, csrf=csrf):
                    headers = self.paris.headers(csrf=False)
                    if csrf is not None:
                        headers["X-Abri-CSRF"] = csrf
                    self.assert_refused(self.call(method, path, body, headers), 403, "invalid_csrf")

    def test_another_units_operator_gets_404_and_no_data_on_every_session_endpoint(self):
        for method, path, body, _ in SESSION_ENDPOINTS:
            with self.subTest(method=method, path=path):
                self.assert_refused(self.call(method, path, body, self.marseille.headers()), (403, 404))
        # Nor does the Paris chat show in the other unit's long-poll.
        status, events, _ = self.marseille.call("GET", "/api/agent/events?wait=0")
        self.assertEqual(status, 200)
        self.assertNotIn(self.session, str(events))
        self.assertNotIn(SECRET, str(events))

    def test_the_holder_of_a_session_cannot_reach_another_units_session(self):
        for method, path, body, _ in SESSION_ENDPOINTS:
            with self.subTest(method=method, path=path):
                answer = self.stack.request(method, path.replace("{s}", self.session_b), body,
                                            headers=self.paris.headers())
                self.assert_refused(answer, (403, 404))


def login(stack, username, password, source="127.0.0.1", cookie=None):
    """One login from the loopback address `source` (nginx keys its limits
    per address; all of 127.0.0.0/8 is loopback). Returns (status, body,
    every Set-Cookie of the answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("POST", "/api/agent/login", json.dumps({"username": username, "password": password}), headers)
    response = conn.getresponse()
    body = json.loads(response.read() or b"null")
    set_cookies = response.msg.get_all("Set-Cookie") or []
    conn.close()
    return response.status, body, set_cookies


def device_cookie(set_cookies):
    """The device cookie of a login's answer, as the browser sends it back."""
    devices = [c.split(";")[0] for c in set_cookies if c.startswith("abri_device=")]
    assert len(devices) == 1, set_cookies
    return devices[0]


def address(n):
    return "127.0.%d.%d" % (1 + n // 250, 1 + n % 250)


class Logins(StackCase):
    def test_parallel_wrong_passwords_verify_at_most_the_free_failures_and_the_known_browser_still_logs_in(self):
        add_operator(self.stack, "gaelle", "PP-75")
        status, _, set_cookies = login(self.stack, "gaelle", PASSWORD)
        self.assertEqual(status, 200)
        known = device_cookie(set_cookies)
        attribute = next(c for c in set_cookies if c.startswith("abri_device="))
        for part in ("Path=/api/agent/login", "HttpOnly", "SameSite=Strict"):
            self.assertIn(part, attribute)

        # The attacker: 25 wrong passwords at once, from 5 addresses.
        with ThreadPoolExecutor(25) as pool:
            statuses = list(pool.map(lambda n: login(self.stack, "gaelle", "mauvais mot de passe", address(n % 5))[0],
                                     range(25)))
        allowed = limit("kLoginFreeFailures") + 1
        # 401: verified and wrong; 429: refused before any verification.
        self.assertEqual(collections.Counter(statuses), {401: allowed, 429: 25 - allowed})
        self.assertEqual(self.stack.sql("SELECT failed_logins FROM agents WHERE username = 'gaelle'"), [(allowed,)])

        # A browser that never logged in is locked out, right password or not...
        status, body, set_cookies = login(self.stack, "gaelle", PASSWORD, address(7))
        self.assertEqual((status, body["error"]["code"]), (429, "too_many_attempts"))
        self.assertEqual(set_cookies, [])
        # ... the operator's own browser is not, and nothing was verified on
        # the account's count meanwhile.
        status, body, set_cookies = login(self.stack, "gaelle", PASSWORD, cookie=known)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["agent"]["username"], "gaelle")
        self.assertNotEqual(device_cookie(set_cookies), known)  # a new one at each login
        self.assertEqual(self.stack.sql("SELECT failed_logins FROM agents WHERE username = 'gaelle'"), [(allowed,)])
        # A forged one is not: its MAC is checked.
        forged = known[:-1] + ("B" if known[-1] == "A" else "A")
        self.assertEqual(login(self.stack, "gaelle", PASSWORD, cookie=forged)[0], 429)

    def test_logins_from_many_addresses_at_once_queue_instead_of_503(self):
        # 12 addresses, 6 logins each at once: one operator and 5 invented
        # names. The two Argon2 slots serve them in turn, first come first
        # served; a login is answered 503 only after waiting its turn for
        # the whole kVerificationWaitMs (unloaded: the 72 take about 4 s).
        wait = limit("kVerificationWaitMs") / 1000
        for n in range(12):
            add_operator(self.stack, "agent%02d" % n, "PP-75")
        one = sorted(self.timed_login("seul", "mauvais mot de passe")[1] for _ in range(3))[1]
        attempts = [("agent%02d" % n, PASSWORD, 200) if k == 0 else ("inconnu-%d-%d" % (n, k), "mot de passe", 401)
                    for n in range(12) for k in range(6)]

        def attempt(i):
            username, password, expected = attempts[i]
            status, seconds = self.timed_login(username, password, address(20 + i % 12))
            return username, expected, status, seconds

        with ThreadPoolExecutor(len(attempts)) as pool:
            answers = list(pool.map(attempt, range(len(attempts))))
        for username, expected, status, seconds in answers:
            with self.subTest(username=username):
                self.assertIn(status, (expected, 503))
                if status == 503:
                    self.assertGreaterEqual(seconds, wait)  # not at once
        # The slots stay busy while anyone waits: in the wait, they verify
        # at least a quarter of what two of them can at this host's speed
        # (a loose bound: the host's load changes while the test runs).
        verified = sum(status != 503 for _, _, status, _ in answers)
        self.assertGreaterEqual(verified, min(len(attempts), int(wait / one / 2)), (one, answers))

    def timed_login(self, username, password, source="127.0.0.1"):
        start = time.monotonic()
        status = login(self.stack, username, password, source)[0]
        return status, time.monotonic() - start

    def test_a_name_without_an_account_is_kept_as_a_keyed_hash(self):
        typed = "Un mot de passe tapé dans le champ du nom"
        self.assertEqual(login(self.stack, typed, "x")[0], 401)
        plain = hashlib.blake2b(typed.encode(), digest_size=32).hexdigest()
        kept = [row[0] for row in self.stack.sql("SELECT name_hash FROM login_failures")]
        self.assertTrue(kept)
        self.assertNotIn(plain, kept)
        self.assertTrue(all(len(h) == 64 and typed not in h for h in kept))
        # The key never leaves the database: no answer or log carries it.
        secret = self.stack.sql("SELECT secret FROM login_secret")[0][0]
        self.assertNotIn(secret, self.stack.read_log())

    def test_abrictl_init_makes_the_secret_once(self):
        # stack.sh ran `abrictl init`: the secret exists before any login.
        made = self.stack.sql("SELECT secret FROM login_secret")
        self.assertEqual(len(made), 1)
        self.assertRegex(made[0][0], r"^[0-9a-f]{64}$")
        status, out, err = self.stack.ctl("init")
        self.assertEqual(status, 0, err)
        self.assertNotIn(made[0][0], out + err)
        self.assertEqual(self.stack.sql("SELECT secret FROM login_secret"), made)  # kept, not drawn again


if __name__ == "__main__":
    unittest.main()
