"""The victims' half of the contract, through the real nginx and programs."""
import hashlib
import json
import os
import subprocess
import threading
import time
import unittest

from hostile import Held, wait_for
from operators import Operator
from stack import BIN, StackCase


class VictimFlow(StackCase):
    def send(self, token, text):
        return self.stack.request("POST", "/api/messages", {"text": text}, token=token)

    def poll(self, token, after=0, wait=0):
        return self.stack.request("GET", "/api/messages?after=%d&wait=%d" % (after, wait), token=token)

    def test_open_session_answers_token_unit_and_expiry(self):
        status, body, headers = self.stack.request("POST", "/api/session", {"postcode": "75011", "role": "victim"})
        self.assertEqual(status, 201)
        self.assertEqual(body["unit"], {"name": "Préfecture de police de Paris", "kind": "police"})
        self.assertGreaterEqual(len(body["token"]), 43)  # 256 bits, base64url
        self.assertRegex(body["session"], r"^[0-9A-Z]{10}$")
        self.assertGreater(body["expires_at"], time.time())
        self.assertEqual(headers["Cache-Control"], "no-store")

    def test_token_is_stored_only_as_a_hash_after_its_time(self):
        body = self.stack.open_session()
        token = body["token"]
        rows = self.stack.sql("SELECT token_hash, created_at FROM sessions WHERE public_id = ?", body["session"])
        self.assertEqual(len(rows), 1)
        stored, created_at = rows[0]
        self.assertEqual(token[:8], "%08x" % created_at)
        self.assertEqual(stored, token[:8] + hashlib.blake2b(token.encode(), digest_size=32).hexdigest())
        self.assertNotIn(token[8:], stored)

    def test_message_round_trip_keeps_html_and_sql_as_sent(self):
        token = self.stack.open_session()["token"]
        text = "<script>alert(1)</script> '); DROP TABLE messages;-- é 🙂"
        status, sent, _ = self.send(token, text)
        self.assertEqual(status, 201)
        status, body, _ = self.poll(token)
        self.assertEqual(status, 200)
        self.assertEqual(body["state"], "waiting")
        self.assertEqual(body["messages"], [{"id": sent["id"], "from": "visitor", "text": text, "at": sent["at"]}])

    def test_message_ids_only_grow(self):
        token = self.stack.open_session()["token"]
        ids = [self.send(token, "m%d" % i)[1]["id"] for i in range(5)]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 5)
        _, body, _ = self.poll(token, after=ids[2])
        self.assertEqual([m["id"] for m in body["messages"]], ids[3:])

    def test_poll_that_times_out_answers_an_empty_list(self):
        token = self.stack.open_session()["token"]
        start = time.monotonic()
        status, body, _ = self.poll(token, wait=1)
        elapsed = time.monotonic() - start
        self.assertEqual(status, 200)
        self.assertEqual(body["messages"], [])
        self.assertGreaterEqual(elapsed, 0.9)

    def test_message_from_another_process_wakes_a_waiting_poll(self):
        token = self.stack.open_session()["token"]
        held = Held(self.stack, "messages")
        result = {}

        def wait():
            result["start"] = time.monotonic()
            result["poll"] = self.poll(token, wait=20)
            result["end"] = time.monotonic()

        waiter = threading.Thread(target=wait)
        waiter.start()
        self.assertTrue(held.reach(1), "the poll never reached the program")
        # The same program run as a plain CGI: another process than the
        # FastCGI one where the poll waits.
        body = json.dumps({"text": "from another process"}).encode()
        env = dict(self.stack.program_env(), GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="POST",
                   REQUEST_URI="/api/messages", CONTENT_TYPE="application/json",
                   CONTENT_LENGTH=str(len(body)), HTTP_AUTHORIZATION="Bearer " + token)
        cgi = subprocess.run([os.path.join(BIN, "messages")], input=body, env=env, capture_output=True)
        sent_at = time.monotonic()
        waiter.join(25)
        self.assertIn(b"Status: 201", cgi.stdout)
        status, answer, _ = result["poll"]
        self.assertEqual(status, 200)
        self.assertEqual([m["text"] for m in answer["messages"]], ["from another process"])
        # Woken by the change, not by the 20 s deadline.
        self.assertLess(result["end"] - sent_at, 5)

    def test_send_does_not_queue_behind_waiting_polls(self):
        # Far more waiting polls than worker threads (ABRI_THREADS=4).
        sessions = [self.stack.open_session()["token"] for _ in range(24)]
        held = Held(self.stack, "messages")
        answers = []
        threads = [threading.Thread(target=lambda t=t: answers.append(self.poll(t, wait=15))) for t in sessions]
        for t in threads:
            t.start()
        self.assertTrue(held.reach(len(sessions)), "the polls never all reached the program")
        start = time.monotonic()
        status, _, _ = self.send(sessions[0], "still goes through")
        self.assertEqual(status, 201)
        self.assertLess(time.monotonic() - start, 5)
        for token in sessions[1:]:
            self.send(token, "wake")
        for t in threads:
            t.join(20)
        self.assertEqual(len(answers), 24)
        self.assertTrue(all(a[0] == 200 and a[1]["messages"] for a in answers))

    def test_leave_kills_the_token_and_tells_the_operator(self):
        body = self.stack.open_session()
        token = body["token"]
        status, _, _ = self.stack.request("POST", "/api/session/leave", {"quick": True}, token=token)
        self.assertEqual(status, 204)
        self.assertEqual(self.poll(token)[0], 401)
        self.assertEqual(self.send(token, "again")[0], 401)
        rows = self.stack.sql("SELECT m.sender, m.text FROM messages m JOIN sessions s ON s.id = m.session_id "
                              "WHERE s.public_id = ?", body["session"])
        self.assertEqual(rows[-1][0], "system")
        self.assertIn("sortie rapide", rows[-1][1])

    def test_leave_without_body_is_an_ordinary_leave(self):
        body = self.stack.open_session()
        status, _, _ = self.stack.request("POST", "/api/session/leave", token=body["token"])
        self.assertEqual(status, 204)
        rows = self.stack.sql("SELECT state, quick_exit FROM sessions WHERE public_id = ?", body["session"])
        self.assertEqual(rows, [("left", 0)])

    def test_delete_erases_session_and_messages_now(self):
        body = self.stack.open_session()
        token = body["token"]
        self.send(token, "erase me")
        status, _, _ = self.stack.request("DELETE", "/api/session", token=token)
        self.assertEqual(status, 204)
        self.assertEqual(self.stack.sql("SELECT count(*) FROM sessions WHERE public_id = ?", body["session"]), [(0,)])
        self.assertEqual(self.stack.sql("SELECT count(*) FROM messages WHERE text = 'erase me'"), [(0,)])
        self.assertEqual(self.poll(token)[0], 401)

    def test_calls_keep_the_session_alive(self):
        body = self.stack.open_session()
        self.stack.sql("UPDATE sessions SET last_seen = last_seen - 100 WHERE public_id = ?", body["session"])
        before = self.stack.sql("SELECT last_seen FROM sessions WHERE public_id = ?", body["session"])[0][0]
        self.poll(body["token"])
        after = self.stack.sql("SELECT last_seen FROM sessions WHERE public_id = ?", body["session"])[0][0]
        self.assertGreaterEqual(after - before, 99)

    def test_health_has_no_victim_data(self):
        self.stack.open_session()
        status, body, _ = self.stack.request("GET", "/api/health")
        self.assertEqual(status, 200)
        self.assertIs(body["ok"], True)
        self.assertNotIn("token", json.dumps(body))

    def test_logs_hold_no_address_and_no_token(self):
        token = self.stack.open_session()["token"]
        self.send(token, "log check")
        self.stack.request("GET", "/api/messages?token=" + token)
        self.stack.request("GET", "/nowhere")
        logs = self.stack.nginx_log("access.log") + self.stack.nginx_log("error.log")
        self.assertIn("POST /api/messages", logs)
        self.assertNotIn("127.0.0.1", logs)
        self.assertNotIn(token, logs)
        self.assertNotIn(token, self.stack.read_log())


class Routing(StackCase):
    def unit_of(self, postcode):
        return self.stack.open_session(postcode)["unit"]["name"]

    def test_department_route(self):
        self.assertEqual(self.unit_of("13008"), "Police nationale — Bouches-du-Rhône")

    def test_overseas_three_digit_route(self):
        self.assertEqual(self.unit_of("97400"), "Gendarmerie — La Réunion")

    def test_corsica_routes_through_the_commune_insee_code(self):
        self.assertEqual(self.unit_of("20000"), "Gendarmerie — Corse-du-Sud")  # Ajaccio, 2A
        self.assertEqual(self.unit_of("20200"), "Gendarmerie nationale — brigade numérique")  # Bastia, 2B: default

    def test_default_catches_the_rest(self):
        self.assertEqual(self.unit_of("01000"), "Gendarmerie nationale — brigade numérique")
        self.assertEqual(self.unit_of("98800"), "Gendarmerie nationale — brigade numérique")

    def test_well_formed_postcode_missing_from_the_list_is_accepted(self):
        self.assertEqual(self.unit_of("75099"), "Préfecture de police de Paris")

    def test_most_specific_key_wins_and_a_key_moves(self):
        self.assertEqual(self.stack.ctl("unit", "add", "T-RT1", "--name", "Test 831", "--kind", "police")[0], 0)
        self.assertEqual(self.stack.ctl("unit", "add", "T-RT2", "--name", "Test 83100", "--kind", "gendarmerie")[0], 0)
        self.assertEqual(self.stack.ctl("route", "add", "831", "T-RT1")[0], 0)
        self.assertEqual(self.stack.ctl("route", "add", "83100", "T-RT2")[0], 0)
        self.assertEqual(self.unit_of("83100"), "Test 83100")
        self.assertEqual(self.unit_of("83130"), "Test 831")
        self.assertEqual(self.unit_of("83000"), "Gendarmerie nationale — brigade numérique")
        self.assertEqual(self.stack.ctl("route", "add", "83100", "T-RT1")[0], 0)
        self.assertEqual(self.unit_of("83100"), "Test 831")

    def test_corsican_department_ranks_between_20_and_200(self):
        self.stack.ctl("unit", "add", "T-C20", "--name", "Test 20", "--kind", "police")
        self.stack.ctl("unit", "add", "T-C200", "--name", "Test 200", "--kind", "police")
        self.stack.ctl("route", "add", "20", "T-C20")
        self.assertEqual(self.unit_of("20000"), "Gendarmerie — Corse-du-Sud")   # 2A beats 20
        self.assertEqual(self.unit_of("20200"), "Test 20")                      # no 2B route: 20
        self.stack.ctl("route", "add", "200", "T-C200")
        self.assertEqual(self.unit_of("20000"), "Test 200")                     # 200 beats 2A

    def test_every_accepted_postcode_routes_to_exactly_one_unit(self):
        with open(os.path.join(os.path.dirname(BIN.rstrip("/")), "sql", "fr-postcodes.csv")
                  if os.path.exists(os.path.join(os.path.dirname(BIN.rstrip("/")), "sql")) else
                  os.path.join(os.path.dirname(__file__), "..", "..", "sql", "fr-postcodes.csv")) as f:
            postcodes = sorted({line.split(",")[0] for line in f.readlines()[1:]})
        for postcode in postcodes[::400]:
            status, body, _ = self.stack.request("POST", "/api/session", {"postcode": postcode, "role": "witness"})
            self.assertEqual(status, 201, postcode)
            self.assertIn(body["unit"]["kind"], ("police", "gendarmerie"))


class BadInput(StackCase):
    """Each bad input gets its status and the contract's error shape."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.stack.open_session()["token"]

    def assertError(self, answer, status, code=None):
        got_status, body, headers = answer
        self.assertEqual(got_status, status, body)
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"), headers)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(set(body), {"error"})
        self.assertIsInstance(body["error"]["message"], str)
        self.assertTrue(body["error"]["message"])
        if code:
            self.assertEqual(body["error"]["code"], code)

    def open(self, body=None, raw=None, headers=None):
        return self.stack.request("POST", "/api/session", body, raw=raw, headers=headers)

    def test_malformed_postcodes_are_invalid_postcode(self):
        for postcode in ["7501", "750111", "75O11", "abcde", "00000", "99999", "96000", "97000", "97700",
                         " 7501", "75 11", "", "７５０１１"]:
            with self.subTest(postcode=postcode):
                self.assertError(self.open({"postcode": postcode, "role": "victim"}), 400, "invalid_postcode")

    def test_each_wrong_postcode_says_what_is_wrong(self):
        cases = {"format": ["7501", "750111", "75O11", " 7501", "75 11", "", "７５０１１"],
                 "department": ["00000", "99999", "96000", "97700"],
                 "monaco": ["98000", "98099"]}
        for reason, postcodes in cases.items():
            for postcode in postcodes:
                with self.subTest(postcode=postcode):
                    answer = self.open({"postcode": postcode, "role": "victim"})
                    self.assertError(answer, 400, "invalid_postcode")
                    self.assertEqual(answer[1]["error"]["reason"], reason)
        monaco = self.open({"postcode": "98000", "role": "victim"})[1]["error"]["message"]
        self.assertIn("+377 93 15 30 15", monaco)
        # Five digits of a real department are no error at all.
        self.assertEqual(self.open({"postcode": "98800", "role": "victim"})[0], 201)  # Nouvelle-Calédonie

    def test_postcode_of_the_wrong_type_is_invalid_postcode(self):
        self.assertError(self.open({"postcode": 75011, "role": "victim"}), 400, "invalid_postcode")

    def test_missing_postcode_is_invalid_postcode(self):
        self.assertError(self.open({"role": "victim"}), 400, "invalid_postcode")

    def test_unknown_role_is_refused(self):
        self.assertError(self.open({"postcode": "75011", "role": "neighbour"}), 400, "invalid_role")

    def test_extra_field_is_refused(self):
        self.assertError(self.open({"postcode": "75011", "role": "victim", "ip": "1.2.3.4"}), 400, "invalid_body")

    def test_malformed_json_is_invalid_body(self):
        self.assertError(self.open(raw=b'{"postcode": "75011",', headers={"Content-Type": "application/json"}),
                         400, "invalid_body")

    def test_json_that_is_not_an_object_is_invalid_body(self):
        self.assertError(self.open(raw=b'["75011"]', headers={"Content-Type": "application/json"}), 400,
                         "invalid_body")

    def test_deep_nesting_is_refused(self):
        raw = b"{\"postcode\":" + b"[" * 5000 + b"]" * 5000 + b"}"
        self.assertError(self.open(raw=raw, headers={"Content-Type": "application/json"}), 400, "invalid_body")

    def test_wrong_content_type_is_415(self):
        self.assertError(self.open(raw=b'{"postcode":"75011","role":"victim"}',
                                   headers={"Content-Type": "text/plain"}), 415)

    def test_body_over_16_kib_is_413(self):
        raw = json.dumps({"postcode": "75011", "role": "victim" + " " * 17000}).encode()
        self.assertError(self.open(raw=raw, headers={"Content-Type": "application/json"}), 413)

    def test_unknown_path_is_404(self):
        self.assertError(self.stack.request("GET", "/api/nothing"), 404)

    def test_wrong_method_is_405(self):
        self.assertError(self.stack.request("GET", "/api/session"), 405, "method_not_allowed")
        self.assertError(self.stack.request("PUT", "/api/messages", token=self.token), 405, "method_not_allowed")

    def test_text_empty_blank_or_too_long_is_invalid_text(self):
        for text in ["", "   \n\t ", "x" * 2001, "é" * 2001]:
            with self.subTest(length=len(text)):
                self.assertError(self.stack.request("POST", "/api/messages", {"text": text}, token=self.token),
                                 400, "invalid_text")

    def test_text_of_2000_characters_is_accepted(self):
        status, _, _ = self.stack.request("POST", "/api/messages", {"text": "é" * 2000}, token=self.token)
        self.assertEqual(status, 201)

    def test_text_of_the_wrong_type_is_invalid_text(self):
        self.assertError(self.stack.request("POST", "/api/messages", {"text": ["a"]}, token=self.token), 400,
                         "invalid_text")

    def test_text_not_valid_utf8_is_refused(self):
        raw = b'{"text": "caf\xe9"}'
        answer = self.stack.request("POST", "/api/messages", raw=raw, token=self.token,
                                    headers={"Content-Type": "application/json"})
        self.assertEqual(answer[0], 400)
        self.assertIn(answer[1]["error"]["code"], ("invalid_body", "invalid_text"))

    def test_text_with_control_characters_is_invalid_text(self):
        self.assertError(self.stack.request("POST", "/api/messages", {"text": "a\u0000b"}, token=self.token), 400,
                         "invalid_text")

    def test_missing_unknown_or_malformed_token_is_401(self):
        self.assertError(self.stack.request("GET", "/api/messages?wait=0"), 401, "session_expired")
        self.assertError(self.stack.request("GET", "/api/messages?wait=0", token="A" * 43), 401, "session_expired")
        self.assertError(self.stack.request("GET", "/api/messages?wait=0", token="not a token"), 401,
                         "session_expired")
        self.assertError(self.stack.request("POST", "/api/messages", {"text": "x"},
                                            headers={"Authorization": "Basic " + self.token}), 401)

    def test_token_in_the_url_is_refused(self):
        answer = self.stack.request("GET", "/api/messages?wait=0&token=" + self.token)
        self.assertIn(answer[0], (400, 401))
        self.assertError(answer, answer[0])

    def test_after_and_wait_must_be_numbers_in_range(self):
        for query in ["after=abc", "after=-1", "wait=31", "wait=abc", "wait=", "after=1&after=2", "wait=1.5",
                      "after=99999999999999999999"]:
            with self.subTest(query=query):
                self.assertError(self.stack.request("GET", "/api/messages?" + query, token=self.token), 400)

    def test_bad_input_changes_nothing(self):
        before = self.stack.sql("SELECT count(*) FROM sessions")[0][0]
        self.open({"postcode": "00000", "role": "victim"})
        self.open(raw=b"{", headers={"Content-Type": "application/json"})
        self.assertEqual(self.stack.sql("SELECT count(*) FROM sessions")[0][0], before)


class IdleExpiry(StackCase):
    stack_env = {"ABRI_IDLE_TTL": "2"}

    def test_idle_session_expires_before_any_purge(self):
        opened = self.stack.open_session()
        token = opened["token"]
        self.assertEqual(self.stack.request("GET", "/api/messages?wait=0", token=token)[0], 200)
        # Expired when it leaves the operators' queue (the visitor's own
        # calls would keep it alive).
        operator = Operator(self.stack)
        self.assertTrue(wait_for(lambda: opened["session"] not in
                                 [e["session"] for e in operator.poll(wait=1)["queue"]], 15), "never expired")
        status, body, _ = self.stack.request("GET", "/api/messages?wait=0", token=token)
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["code"], "session_expired")
        self.assertEqual(self.stack.request("POST", "/api/messages", {"text": "late"}, token=token)[0], 401)
        # The row is still there: only the purge erases it.
        self.assertEqual(self.stack.sql("SELECT count(*) FROM sessions WHERE public_id = ?", opened["session"]),
                         [(1,)])


class MaximumLife(StackCase):
    stack_env = {"ABRI_MAX_TTL": "3"}

    def test_session_expires_after_its_maximum_life_even_when_active(self):
        token = self.stack.open_session()["token"]
        codes = []

        def expired():
            codes.append(self.stack.request("GET", "/api/messages?wait=0", token=token)[0])
            return codes[-1] == 401
        self.assertTrue(wait_for(expired, 15, step=0.2), codes)
        self.assertEqual(set(codes[:-1]), {200})  # active until its life ran out

    def test_waiting_poll_of_an_expiring_session_answers_401(self):
        token = self.stack.open_session()["token"]
        # Answered at its deadline, past the session's life.
        status, _, _ = self.stack.request("GET", "/api/messages?wait=5", token=token)
        self.assertEqual(status, 401)


class Abrictl(StackCase):
    def test_init_twice_says_nothing_to_do(self):
        status, out, _ = self.stack.ctl("init")
        self.assertEqual(status, 0)
        self.assertIn("nothing to do", out)

    def test_route_to_an_unknown_unit_fails_with_a_message(self):
        status, _, err = self.stack.ctl("route", "add", "13", "NOPE")
        self.assertNotEqual(status, 0)
        self.assertIn("no unit NOPE", err)

    def test_bad_route_key_fails(self):
        for key in ["1", "00", "99", "2C", "123456", "9x"]:
            status, _, err = self.stack.ctl("route", "add", key, "GN-NUM")
            self.assertNotEqual(status, 0, key)
            self.assertIn("not a route key", err)

    def test_unit_kind_is_checked(self):
        status, _, err = self.stack.ctl("unit", "add", "X1", "--name", "X", "--kind", "army")
        self.assertNotEqual(status, 0)
        self.assertIn("police or gendarmerie", err)

    def test_unknown_command_prints_usage(self):
        status, _, err = self.stack.ctl("frobnicate")
        self.assertEqual(status, 2)
        self.assertIn("usage: abrictl", err)

    def test_stats_counts_live_sessions_and_messages(self):
        token = self.stack.open_session()["token"]
        self.stack.request("POST", "/api/messages", {"text": "one"}, token=token)
        status, out, _ = self.stack.ctl("stats")
        self.assertEqual(status, 0)
        live = out.split("\n\n")[0]  # then the daily table
        values = dict(line.split(": ") for line in live.strip().splitlines())
        self.assertGreaterEqual(int(values["waiting"]), 1)
        self.assertGreaterEqual(int(values["messages"]), 1)

    def test_commands_but_init_refuse_a_missing_database_and_create_nothing(self):
        missing = os.path.join(self.stack.dir, "no-such.db")
        socket_path = os.path.join(self.stack.dir, "no-such.sock")
        for argv in (["abrictl", "stats"], ["abrictl", "route", "default", "GN-NUM"],
                     ["abrictl", "agent", "disable", "nobody"], ["purge"],
                     ["session", "--socket", socket_path], ["messages", "--socket", socket_path]):
            done = subprocess.run([os.path.join(BIN, argv[0]), "--db", missing, *argv[1:]],
                                  capture_output=True, text=True, env=self.stack.program_env(), timeout=30)
            self.assertEqual(done.returncode, 1, argv)
            self.assertIn(missing + ": no database there", done.stderr)
            self.assertIn("abrictl init", done.stderr)
            self.assertFalse(os.path.exists(missing), argv)
            self.assertFalse(os.path.exists(missing + "-wal"), argv)

    def test_init_creates_a_missing_database(self):
        fresh = os.path.join(self.stack.dir, "fresh-%d.db" % os.getpid())
        self.addCleanup(lambda: [os.remove(p) for p in (fresh, fresh + "-wal", fresh + "-shm") if os.path.exists(p)])
        done = subprocess.run([os.path.join(BIN, "abrictl"), "--db", fresh, "init"],
                              capture_output=True, text=True, env=self.stack.program_env())
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(fresh + ": created", done.stdout)

    def test_programs_refuse_a_database_that_was_not_initialised(self):
        env = dict(self.stack.program_env(), ABRI_DB=os.path.join(self.stack.dir, "empty.db"),
                   GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET", REQUEST_URI="/api/health")
        done = subprocess.run([os.path.join(BIN, "session")], env=env, capture_output=True, text=True)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("abrictl init", done.stderr)


if __name__ == "__main__":
    unittest.main()
