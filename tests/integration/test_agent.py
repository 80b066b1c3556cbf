"""The operators' half of the contract, through the real nginx and programs:
login, the events long-poll, claim, reply, transfer, close, export, and the
guards (units, CSRF, disabled accounts, throttled passwords)."""
import os
import re
import threading
import time
import unittest

from hostile import Held, wait_for
from operators import PASSWORD, Operator, add_operator
from stack import StackCase

PARIS = "75011"      # routed to PP-75 by the demo data
MARSEILLE = "13001"  # routed to DDSP-13


def entry(body, session):
    return next((e for e in body["queue"] if e["session"] == session), None)


class OperatorsFlow(StackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "alice", "PP-75")
        add_operator(cls.stack, "anna", "PP-75")
        add_operator(cls.stack, "bob", "DDSP-13")

    def visitor_send(self, token, text):
        status, body, _ = self.stack.request("POST", "/api/messages", {"text": text}, token=token)
        self.assertEqual(status, 201, body)
        return body

    def visitor_poll(self, token, after=0, wait=0):
        status, body, _ = self.stack.request("GET", "/api/messages?after=%d&wait=%d" % (after, wait), token=token)
        self.assertEqual(status, 200, body)
        return body

    # -- the whole exchange ---------------------------------------------------
    def test_whole_exchange_from_first_message_to_close(self):
        alice = Operator(self.stack, "alice")
        alice.poll()
        visitor = self.stack.open_session(PARIS, "witness")
        token, session = visitor["token"], visitor["session"]
        self.visitor_send(token, "Bonjour, mes voisins se battent")

        # The operator's poll shows the person waiting, a witness, connected.
        body = alice.poll(wait=5)
        waiting = entry(body, session)
        self.assertIsNotNone(waiting)
        self.assertEqual(waiting["state"], "waiting")
        self.assertEqual(waiting["role"], "witness")
        self.assertEqual(waiting["unit"]["code"], "PP-75")
        self.assertEqual(waiting["unread"], 1)
        self.assertTrue(waiting["connected"])
        self.assertFalse(waiting["mine"])
        self.assertEqual(body["messages"], [])  # not held yet: no text

        status, _, _ = alice.claim(session)
        self.assertEqual(status, 200)
        body = alice.poll(wait=5)
        texts = [m["text"] for m in body["messages"] if m["session"] == session]
        self.assertEqual(texts[0], "Bonjour, mes voisins se battent")
        self.assertTrue(entry(body, session)["mine"])

        # The visitor learns that someone answers, then reads the reply.
        seen = self.visitor_poll(token)
        self.assertEqual(seen["state"], "active")
        self.assertEqual(seen["messages"][-1]["from"], "system")
        status, sent, _ = alice.say(session, "Nous sommes là. Êtes-vous en sécurité ?")
        self.assertEqual(status, 201)
        seen = self.visitor_poll(token, after=seen["messages"][-1]["id"])
        self.assertEqual([(m["from"], m["text"]) for m in seen["messages"]],
                         [("agent", "Nous sommes là. Êtes-vous en sécurité ?")])
        self.assertEqual(seen["messages"][0]["id"], sent["id"])

        # The operator's own message comes back through the poll too.
        self.assertEqual([m["id"] for m in alice.poll()["messages"]], [sent["id"]])

        # A visitor's message wakes the operator's waiting poll at once.
        result = {}
        held = Held(self.stack, "agent")
        waiter = threading.Thread(target=lambda: result.update(body=alice.poll(wait=20), end=time.monotonic()))
        waiter.start()
        self.assertTrue(held.reach(1), "the poll never reached the program")
        start = time.monotonic()
        self.visitor_send(token, "Oui, je suis chez moi")
        waiter.join(25)
        self.assertLess(result["end"] - start, 1.0)
        self.assertEqual([m["text"] for m in result["body"]["messages"]], ["Oui, je suis chez moi"])

        status, _, _ = alice.close(session)
        self.assertEqual(status, 200)
        seen = self.visitor_poll(token)
        self.assertEqual(seen["state"], "closed")
        self.assertEqual(seen["messages"][-1]["from"], "system")
        status, body, _ = self.stack.request("POST", "/api/messages", {"text": "encore"}, token=token)
        self.assertEqual(status, 409)
        body = alice.poll()
        self.assertIsNone(entry(body, session))

    def test_reply_keeps_html_as_text(self):
        alice = Operator(self.stack, "alice")
        visitor = self.stack.open_session(PARIS)
        alice.claim(visitor["session"])
        evil = "<img src=x onerror=alert(1)> & </script>"
        alice.say(visitor["session"], evil)
        seen = self.visitor_poll(visitor["token"])
        self.assertEqual(seen["messages"][-1]["text"], evil)

    def test_queue_shows_the_longest_wait_first(self):
        alice = Operator(self.stack, "alice")
        newer = self.stack.open_session(PARIS)["session"]
        longer = self.stack.open_session(PARIS)["session"]
        # The later one has been waiting five seconds more: first in spite of its higher id.
        self.stack.sql("UPDATE sessions SET created_at = created_at - 5, queued_at = queued_at - 5 "
                       "WHERE public_id = ?", longer)
        order = [e["session"] for e in alice.poll()["queue"] if e["state"] == "waiting"]
        self.assertLess(order.index(longer), order.index(newer))
        self.assertGreaterEqual(entry(alice.poll(), longer)["waiting"], 5)

    def test_export_is_plain_text_with_times_and_speakers(self):
        alice = Operator(self.stack, "alice")
        visitor = self.stack.open_session(PARIS)
        self.visitor_send(visitor["token"], "Il m'a frappée hier soir")
        alice.claim(visitor["session"])
        alice.say(visitor["session"], "Nous allons vous aider")
        status, text, headers = alice.export(visitor["session"])
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        self.assertIn("attachment", headers["Content-Disposition"])
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertIn(visitor["session"], text)
        self.assertRegex(text, r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] Personne : Il m'a frappée hier soir")
        self.assertRegex(text, r"\] Équipe \(alice\) : Nous allons vous aider")

    def test_visitor_leaving_tells_the_operator_who_keeps_the_conversation(self):
        alice = Operator(self.stack, "alice")
        visitor = self.stack.open_session(PARIS)
        session = visitor["session"]
        self.visitor_send(visitor["token"], "Il arrive")
        alice.claim(session)
        alice.poll()
        status, _, _ = self.stack.request("POST", "/api/session/leave", {"quick": True}, token=visitor["token"])
        self.assertEqual(status, 204)
        body = alice.poll(wait=5)
        left = entry(body, session)
        self.assertEqual(left["state"], "left")
        self.assertTrue(left["quick_exit"])
        self.assertFalse(left["connected"])
        self.assertTrue(any(m["from"] == "system" and "sortie rapide" in m["text"] for m in body["messages"]))
        # Still readable, no longer writable; closing lets it go.
        self.assertEqual(alice.export(session)[0], 200)
        status, body, _ = alice.say(session, "Vous êtes là ?")
        self.assertEqual((status, body["error"]["code"]), (409, "session_ended"))
        self.assertEqual(alice.close(session)[0], 200)
        self.assertIsNone(entry(alice.poll(), session))
        self.assertEqual(alice.export(session)[0], 404)

    def test_transfer_moves_the_session_to_the_other_units_queue(self):
        alice, bob = Operator(self.stack, "alice"), Operator(self.stack, "bob")
        visitor = self.stack.open_session(PARIS)
        session = visitor["session"]
        self.visitor_send(visitor["token"], "Je suis à Marseille en fait")
        alice.claim(session)
        bob.poll()
        status, body, _ = alice.transfer(session, "DDSP-13")
        self.assertEqual(status, 200, body)
        waiting = entry(bob.poll(wait=5), session)
        self.assertEqual(waiting["state"], "waiting")
        self.assertEqual(waiting["unit"]["code"], "DDSP-13")
        self.assertIsNone(entry(alice.poll(), session))
        self.assertEqual(alice.say(session, "x")[0], 404)
        # Bob claims it and gets the whole history.
        self.assertEqual(bob.claim(session)[0], 200)
        texts = [m["text"] for m in bob.poll()["messages"] if m["session"] == session]
        self.assertIn("Je suis à Marseille en fait", texts)
        seen = self.visitor_poll(visitor["token"])
        self.assertTrue(any("transmise" in m["text"] for m in seen["messages"]))

    def test_transfer_to_an_unknown_unit_is_400(self):
        alice = Operator(self.stack, "alice")
        session = self.stack.open_session(PARIS)["session"]
        status, body, _ = alice.transfer(session, "NOPE")
        self.assertEqual((status, body["error"]["code"]), (400, "unknown_unit"))

    # -- one unit never sees another's sessions ---------------------------------
    def test_operator_of_another_unit_gets_404_and_no_data_everywhere(self):
        bob = Operator(self.stack, "bob")
        visitor = self.stack.open_session(PARIS)
        session = visitor["session"]
        secret = "Texte confidentiel de Paris"
        self.visitor_send(visitor["token"], secret)
        for holder in (None, "alice"):
            if holder:
                Operator(self.stack, holder).claim(session)
            answers = [bob.claim(session), bob.say(session, "bonjour"), bob.transfer(session, "DDSP-13"),
                       bob.close(session), bob.export(session)]
            for status, body, _ in answers:
                self.assertIn(status, (403, 404))
                self.assertNotIn(secret, str(body))
                self.assertNotIn("Paris", str(body))
            body = bob.poll()
            self.assertIsNone(entry(body, session))
            self.assertNotIn(secret, str(body))
        # Nothing changed for the visitor.
        seen = self.visitor_poll(visitor["token"])
        self.assertFalse(any(m["from"] == "agent" for m in seen["messages"]))
        self.assertEqual(seen["state"], "active")

    def test_colleague_of_the_same_unit_cannot_touch_a_held_session(self):
        alice, anna = Operator(self.stack, "alice"), Operator(self.stack, "anna")
        session = self.stack.open_session(PARIS)["session"]
        alice.claim(session)
        for status, body, _ in [anna.say(session, "x"), anna.transfer(session, "DDSP-13"), anna.close(session),
                                anna.export(session)]:
            self.assertEqual((status, body["error"]["code"] if isinstance(body, dict) else body),
                             (403, "not_yours"))

    def test_unknown_or_malformed_session_is_404(self):
        alice = Operator(self.stack, "alice")
        for session in ("0000000000", "short", "../../etc", "ABCDEFGHJK"):
            status, body, _ = alice.claim(session)
            self.assertEqual(status, 404, session)
            self.assertEqual(body["error"]["code"], "not_found")

    # -- claim races -------------------------------------------------------------
    def test_two_operators_claiming_at_once_one_wins_one_gets_409(self):
        alice, anna = Operator(self.stack, "alice"), Operator(self.stack, "anna")
        for _ in range(5):
            session = self.stack.open_session(PARIS)["session"]
            results = {}
            barrier = threading.Barrier(2)

            def claim(name, operator):
                barrier.wait()
                results[name] = operator.claim(session)

            threads = [threading.Thread(target=claim, args=(n, o)) for n, o in (("alice", alice), ("anna", anna))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            statuses = sorted(r[0] for r in results.values())
            self.assertEqual(statuses, [200, 409])
            loser = next(r for r in results.values() if r[0] == 409)
            self.assertEqual(loser[1]["error"]["code"], "already_claimed")
            holders = self.stack.sql("SELECT agent_id FROM sessions WHERE public_id = ?", session)
            self.assertEqual(len(holders), 1)
            self.assertIsNotNone(holders[0][0])

    # -- CSRF ----------------------------------------------------------------------
    def test_state_changing_calls_without_csrf_are_refused(self):
        alice = Operator(self.stack, "alice")
        visitor = self.stack.open_session(PARIS)
        session = visitor["session"]
        status, answer, _ = alice.session_call("claim", session, csrf=False)
        self.assertEqual((status, answer["error"]["code"]), (403, "invalid_csrf"))
        self.assertEqual(self.stack.sql("SELECT state FROM sessions WHERE public_id = ?", session), [("waiting",)])
        # Every other state-changing endpoint, once held.
        self.assertEqual(alice.claim(session)[0], 200)
        for action, body in (("messages", {"text": "x"}), ("transfer", {"unit": "DDSP-13"}), ("close", None)):
            status, answer, _ = alice.session_call(action, session, body, csrf=False)
            self.assertEqual((status, answer["error"]["code"]), (403, "invalid_csrf"), action)
        status, answer, _ = alice.call("POST", "/api/agent/logout", csrf=False)
        self.assertEqual((status, answer["error"]["code"]), (403, "invalid_csrf"))
        self.assertEqual(self.stack.sql("SELECT state FROM sessions WHERE public_id = ?", session), [("active",)])
        self.assertFalse(any(m["from"] == "agent" for m in self.visitor_poll(visitor["token"])["messages"]))
        self.assertEqual(alice.events()[0], 200)  # the login still works

    def test_wrong_csrf_is_refused(self):
        alice = Operator(self.stack, "alice")
        other = Operator(self.stack, "alice")  # another browser: another CSRF value
        session = self.stack.open_session(PARIS)["session"]
        alice.csrf = other.csrf
        status, body, _ = alice.claim(session)
        self.assertEqual((status, body["error"]["code"]), (403, "invalid_csrf"))

    # -- logins --------------------------------------------------------------------
    def test_cookie_is_httponly_strict_and_stored_hashed(self):
        alice = Operator(self.stack, "alice")
        attributes = [a.strip() for a in alice.set_cookie.split(";")]
        self.assertTrue(attributes[0].startswith("abri_agent="))
        self.assertIn("HttpOnly", attributes)
        self.assertIn("SameSite=Strict", attributes)
        self.assertIn("Path=/", attributes)
        self.assertIn("Max-Age=43200", attributes)
        self.assertNotIn("Secure", attributes)  # plain-HTTP loopback in development
        value = alice.cookie.split("=", 1)[1]
        stored = [row[0] for row in self.stack.sql("SELECT cookie_hash FROM agent_logins")]
        self.assertNotIn(value, stored)
        self.assertFalse(any(value in s for s in stored))
        self.assertEqual(alice.login_body["agent"]["username"], "alice")
        self.assertEqual([u["code"] for u in alice.login_body["agent"]["units"]], ["PP-75"])

    def test_me_gives_a_reloaded_console_its_csrf(self):
        alice = Operator(self.stack, "alice")
        status, body, _ = alice.call("GET", "/api/agent/me", csrf=False)
        self.assertEqual(status, 200)
        self.assertEqual(body["csrf"], alice.csrf)

    def test_logout_ends_the_cookie(self):
        alice = Operator(self.stack, "alice")
        status, _, headers = alice.call("POST", "/api/agent/logout")
        self.assertEqual(status, 204)
        self.assertIn("Max-Age=0", headers["Set-Cookie"])
        status, body, _ = alice.events()
        self.assertEqual((status, body["error"]["code"]), (401, "login_required"))

    def test_calls_without_a_valid_cookie_are_401(self):
        alice = Operator(self.stack, "alice")
        session = self.stack.open_session(PARIS)["session"]
        answers = [alice.call("GET", "/api/agent/events?wait=0", cookie=False),
                   alice.call("POST", "/api/agent/sessions/%s/claim" % session, cookie=False),
                   self.stack.request("GET", "/api/agent/me", headers={"Cookie": "abri_agent=" + "A" * 43})]
        for status, body, _ in answers:
            self.assertEqual((status, body["error"]["code"]), (401, "login_required"))

    def test_wrong_password_is_401_with_no_hint(self):
        status, body, _ = self.stack.request("POST", "/api/agent/login", {"username": "anna", "password": "nope"})
        self.assertEqual((status, body["error"]["code"]), (401, "invalid_credentials"))
        status, unknown, _ = self.stack.request("POST", "/api/agent/login",
                                                {"username": "personne", "password": "nope"})
        self.assertEqual(status, 401)
        self.assertEqual(unknown, body)

    def test_login_input_is_checked(self):
        for raw, kind, expected in ((b"{", "application/json", 400), (b'{"username":"a"}', "application/json", 400),
                                    (b'{"username":"a","password":"b"}', "text/plain", 415),
                                    (b'{"username":"a","password":"b","x":1}', "application/json", 400)):
            status, body, _ = self.stack.request("POST", "/api/agent/login", raw=raw,
                                                 headers={"Content-Type": kind})
            self.assertEqual(status, expected, raw)
            self.assertIn("error", body)

    def test_wrong_method_and_unknown_path(self):
        alice = Operator(self.stack, "alice")
        self.assertEqual(alice.call("GET", "/api/agent/login")[0], 405)
        self.assertEqual(alice.call("POST", "/api/agent/events")[0], 405)
        self.assertEqual(alice.call("GET", "/api/agent/nothing")[0], 404)
        self.assertEqual(alice.call("GET", "/api/agent/sessions/ABCDEFGHJK/claim")[0], 405)
        self.assertEqual(alice.call("POST", "/api/agent/sessions/ABCDEFGHJK/export")[0], 405)

    def test_events_query_is_checked(self):
        alice = Operator(self.stack, "alice")
        for query in ("?wait=31", "?after=-1", "?after=x", "?other=1", "?wait=1&wait=2"):
            status, body, _ = alice.call("GET", "/api/agent/events" + query, csrf=False)
            self.assertEqual(status, 400, query)

    def test_units_lists_where_a_session_can_go(self):
        alice = Operator(self.stack, "alice")
        status, body, _ = alice.call("GET", "/api/agent/units", csrf=False)
        self.assertEqual(status, 200)
        self.assertIn("DDSP-13", [u["code"] for u in body["units"]])


class DisabledAccount(StackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "carole", "PP-75")

    def test_disabled_account_cannot_log_in_or_keep_its_cookie(self):
        carole = Operator(self.stack, "carole")
        session = self.stack.open_session(PARIS)["session"]
        self.assertEqual(carole.claim(session)[0], 200)
        carole.poll()
        result = {}
        held = Held(self.stack, "agent")
        waiter = threading.Thread(target=lambda: result.update(answer=carole.events(carole.cursor, wait=20)))
        waiter.start()
        self.assertTrue(held.reach(1), "the poll never reached the program")
        status, _, err = self.stack.ctl("agent", "disable", "carole")
        self.assertEqual(status, 0, err)
        waiter.join(10)
        self.assertEqual(result["answer"][0], 401)  # the parked poll ends with 401
        for status, body, _ in [carole.events(), carole.say(session, "x"), carole.export(session),
                                carole.call("GET", "/api/agent/me", csrf=False)]:
            self.assertEqual((status, body["error"]["code"]), (401, "login_required"))
        status, body, _ = self.stack.request("POST", "/api/agent/login",
                                             {"username": "carole", "password": PASSWORD})
        self.assertEqual((status, body["error"]["code"]), (401, "invalid_credentials"))


class Throttling(StackCase):
    """Each test with accounts and unknown names of its own: the counts of
    failures are per name."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "dora", "PP-75")
        add_operator(cls.stack, "greta", "PP-75")

    def login(self, username, password):
        status, body, _ = self.stack.request("POST", "/api/agent/login", {"username": username, "password": password})
        return status, body

    def test_wrong_passwords_are_throttled_per_account_with_no_hint(self):
        real, unknown = [], []
        for _ in range(6):
            real.append(self.login("dora", "mauvais mot de passe")[0])
            unknown.append(self.login("personne", "mauvais mot de passe")[0])
        self.assertEqual(real, unknown)
        self.assertEqual(real[:4], [401] * 4)
        self.assertEqual(real[-1], 429)
        # Locked: even the right password waits, and says so plainly.
        status, body = self.login("dora", PASSWORD)
        self.assertEqual((status, body["error"]["code"]), (429, "too_many_attempts"))
        self.assertIn("Réessayez", body["error"]["message"])
        status, unknown_body = self.login("personne", PASSWORD)
        self.assertEqual(status, 429)
        self.assertEqual(re.sub(r"\d+", "N", unknown_body["error"]["message"]),
                         re.sub(r"\d+", "N", body["error"]["message"]))
        # Another account is not affected.
        add_operator(self.stack, "emma", "PP-75")
        self.assertEqual(self.login("emma", PASSWORD)[0], 200)

    def test_wrong_password_takes_as_long_as_an_unknown_user(self):
        def timed(username):
            start = time.monotonic()
            self.login(username, "mauvais mot de passe")
            return time.monotonic() - start
        real = min(timed("greta") for _ in range(3))
        unknown = min(timed("inconnue") for _ in range(3))
        self.assertGreater(unknown, real * 0.5)  # Argon2 runs for unknown names too
        self.assertGreater(unknown, 0.02)


class Expiry(StackCase):
    stack_env = {"ABRI_IDLE_TTL": "2"}

    def test_expired_held_session_tells_the_operator(self):
        add_operator(self.stack, "fanny", "PP-75")
        fanny = Operator(self.stack, "fanny")
        session = self.stack.open_session(PARIS)["session"]
        self.assertEqual(fanny.claim(session)[0], 200)
        fanny.poll()
        messages = []

        def left():
            body = fanny.poll(wait=1)
            messages.extend(body["messages"])
            return entry(body, session)["state"] == "left"
        self.assertTrue(wait_for(left, 15), "the session never expired")
        self.assertTrue(any("expiré" in m["text"] for m in messages))


if __name__ == "__main__":
    unittest.main()
