"""The night shift (issue 14), backend and command line: the admin's
commands (units, routes, operators with display names, canned replies,
statistics, metrics), canned replies for the console, internal notes that
never reach the person, typing signals both ways, who answered, the export
in the console's time zone, and the daily statistics after a scripted day.
Through the real nginx and programs; the clock is never faked."""
import json
import re
import threading

from operators import PASSWORD, Operator, add_operator
from stack import StackCase
from test_nobody_left_alone import Visitor, entry, eventually

PARIS = "75011"  # PP-75 in the demo data


def operator_with_display(stack, username, display, *units):
    args = ["agent", "add", username, "--display", display]
    for unit in units:
        args += ["--unit", unit]
    status, out, err = stack.ctl(*args, stdin=PASSWORD + "\n")
    if status != 0:
        raise AssertionError("abrictl agent add: %s %s" % (out, err))


class AdminCommands(StackCase):
    """Every new abrictl command: what it prints, what it changes, what it
    refuses."""

    def ctl_ok(self, *args, stdin=None):
        status, out, err = self.stack.ctl(*args, stdin=stdin)
        self.assertEqual(status, 0, "abrictl %s: %s" % (" ".join(args), err))
        return out

    def ctl_json(self, *args):
        return json.loads(self.ctl_ok(*args, "--json"))

    def test_unit_list_is_a_table_and_json(self):
        table = self.ctl_ok("unit", "list")
        self.assertRegex(table.splitlines()[0], r"^CODE\s+KIND\s+FALLBACK\s+SIGNED\s+NAME$")
        self.assertIn("Préfecture de police de Paris", table)
        units = self.ctl_json("unit", "list")
        paris = next(u for u in units if u["code"] == "PP-75")
        self.assertEqual(paris, {"code": "PP-75", "name": "Préfecture de police de Paris", "kind": "police",
                                 "fallback": None, "signs_names": False})

    def test_unit_rename(self):
        self.ctl_ok("unit", "add", "REN-1", "--name", "Ancien nom", "--kind", "police")
        out = self.ctl_ok("unit", "rename", "REN-1", "--name", "Commissariat du quartier")
        self.assertIn("Commissariat du quartier", out)
        names = {u["code"]: u["name"] for u in self.ctl_json("unit", "list")}
        self.assertEqual(names["REN-1"], "Commissariat du quartier")
        status, _, err = self.stack.ctl("unit", "rename", "NOPE", "--name", "x")
        self.assertEqual(status, 1)
        self.assertIn("no unit NOPE", err)

    def test_unit_remove_is_refused_while_used(self):
        self.ctl_ok("unit", "add", "GONE-1", "--name", "Équipe éphémère", "--kind", "gendarmerie")
        self.ctl_ok("route", "add", "971", "GONE-1")
        add_operator(self.stack, "ephemere", "GONE-1")
        self.ctl_ok("reply", "add", "GONE-1", "--title", "Bonjour", stdin="Bonjour, nous sommes là.\n")
        status, _, err = self.stack.ctl("unit", "remove", "GONE-1")
        self.assertEqual(status, 1)
        self.assertIn("still in use, nothing removed", err)
        self.assertIn("1 route(s)", err)
        self.assertIn("1 operator(s)", err)
        self.assertIn("GONE-1", [u["code"] for u in self.ctl_json("unit", "list")])
        self.ctl_ok("route", "remove", "971")
        self.ctl_ok("agent", "remove", "ephemere")
        self.assertIn("removed", self.ctl_ok("unit", "remove", "GONE-1"))
        self.assertNotIn("GONE-1", [u["code"] for u in self.ctl_json("unit", "list")])
        self.assertEqual(self.ctl_json("reply", "list"), [r for r in self.ctl_json("reply", "list")
                                                         if r["unit"] != "GONE-1"])

    def test_unit_remove_is_refused_while_a_conversation_uses_it(self):
        self.ctl_ok("unit", "add", "LIVE-1", "--name", "Équipe occupée", "--kind", "police")
        self.ctl_ok("route", "add", "972", "LIVE-1")
        Visitor(self.stack, "97200")
        self.ctl_ok("route", "remove", "972")
        status, _, err = self.stack.ctl("unit", "remove", "LIVE-1")
        self.assertEqual(status, 1)
        self.assertIn("1 conversation(s)", err)

    def test_route_list_is_a_table_and_json(self):
        self.assertRegex(self.ctl_ok("route", "list").splitlines()[0], r"^KEY\s+UNIT$")
        routes = self.ctl_json("route", "list")
        self.assertIn({"key": "75", "unit": "PP-75"}, routes)
        self.assertIn({"key": "default", "unit": "GN-NUM"}, routes)

    def test_agent_display_name_add_rename_and_list(self):
        operator_with_display(self.stack, "amelie", "Amélie (nuit)", "PP-75")
        table = self.ctl_ok("agent", "list")
        self.assertRegex(table.splitlines()[0], r"^USERNAME\s+STATUS\s+UNITS\s+DISPLAY$")
        self.assertRegex(table, r"amelie\s+enabled\s+PP-75\s+Amélie \(nuit\)")
        agents = {a["username"]: a for a in self.ctl_json("agent", "list")}
        self.assertEqual(agents["amelie"]["display"], "Amélie (nuit)")
        self.assertEqual(agents["amelie"]["units"], ["PP-75"])
        self.assertEqual(agents["amelie"]["status"], "enabled")
        self.ctl_ok("agent", "rename", "amelie", "--display", "Amélie M.")
        self.assertEqual({a["username"]: a["display"] for a in self.ctl_json("agent", "list")}["amelie"], "Amélie M.")
        self.ctl_ok("agent", "rename", "amelie", "--display", "")
        self.assertIsNone({a["username"]: a["display"] for a in self.ctl_json("agent", "list")}["amelie"])
        status, _, err = self.stack.ctl("agent", "rename", "amelie", "--display", "deux\nlignes")
        self.assertEqual(status, 1)
        self.assertIn("display name", err)

    def test_the_console_learns_how_its_operator_is_named(self):
        operator_with_display(self.stack, "bastien", "Bastien (nuit)", "PP-75")
        add_operator(self.stack, "sansnom", "PP-75")
        named, plain = Operator(self.stack, "bastien"), Operator(self.stack, "sansnom")
        self.assertEqual(named.login_body["agent"]["shown_as"], "Bastien (nuit)")
        self.assertEqual(plain.login_body["agent"]["shown_as"], "sansnom")
        self.ctl_ok("agent", "rename", "bastien", "--display", "Bastien M.")
        status, me, _ = named.call("GET", "/api/agent/me", csrf=False)
        self.assertEqual((status, me["agent"]["shown_as"]), (200, "Bastien M."))

    def test_agent_remove_gives_held_chats_back_first(self):
        add_operator(self.stack, "partant", "PP-75")
        partant = Operator(self.stack, "partant")
        visitor = Visitor(self.stack)
        visitor.send("Bonjour")
        self.assertEqual(partant.claim(visitor.session)[0], 200)
        self.assertEqual(partant.say(visitor.session, "Je suis là")[0], 201)
        status, out, err = self.stack.ctl("agent", "remove", "partant")
        self.assertEqual(status, 0, err)
        self.assertIn("1 conversation(s) back", out)
        self.assertEqual(visitor.poll()["state"], "waiting")
        self.assertEqual(visitor.kinds()[-1], "released")
        self.assertNotIn("partant", [a["username"] for a in self.ctl_json("agent", "list")])
        self.assertEqual(partant.events()[0], 401)  # the login went with the account
        # What the operator wrote stays in the conversation.
        self.assertIn("Je suis là", [m["text"] for m in visitor.poll()["messages"]])
        status, _, err = self.stack.ctl("agent", "remove", "partant")
        self.assertEqual(status, 1)
        self.assertIn("no operator partant", err)

    def test_reply_add_list_remove(self):
        self.ctl_ok("unit", "add", "REP-1", "--name", "Équipe des réponses", "--kind", "police")
        out = self.ctl_ok("reply", "add", "REP-1", "--title", "Association locale",
                          stdin="Association Solidarité Femmes : 01 23 45 67 89.\nDu lundi au vendredi.\n")
        reply_id = int(re.search(r"reply (\d+) added", out).group(1))
        listed = self.ctl_json("reply", "list", "REP-1")
        self.assertEqual(listed, [{"id": reply_id, "unit": "REP-1", "title": "Association locale",
                                   "text": "Association Solidarité Femmes : 01 23 45 67 89.\nDu lundi au vendredi."}])
        table = self.ctl_ok("reply", "list", "REP-1")
        self.assertRegex(table.splitlines()[0], r"^ID\s+UNIT\s+TITLE\s+TEXT$")
        self.assertIn("Association locale", table)
        self.assertIn("Du lundi", self.ctl_ok("reply", "list", "REP-1", "--json"))
        self.assertIn("REP-1", [r["unit"] for r in self.ctl_json("reply", "list")])
        self.ctl_ok("reply", "remove", str(reply_id))
        self.assertEqual(self.ctl_json("reply", "list", "REP-1"), [])
        status, _, err = self.stack.ctl("reply", "remove", str(reply_id))
        self.assertEqual(status, 1)
        self.assertIn("no reply", err)

    def test_reply_refused_when_it_could_not_be_sent(self):
        status, _, err = self.stack.ctl("reply", "add", "PP-75", "--title", "Trop long", stdin="x" * 2001)
        self.assertEqual(status, 1)
        self.assertIn("could not be sent", err)
        status, _, err = self.stack.ctl("reply", "add", "NOPE", "--title", "t", stdin="texte")
        self.assertEqual(status, 1)
        self.assertIn("no unit NOPE", err)
        status, _, _ = self.stack.ctl("reply", "add", "PP-75", "--title", "", stdin="texte")
        self.assertEqual(status, 1)

    def test_the_demo_ships_national_referrals(self):
        replies = self.ctl_json("reply", "list", "PP-75")
        texts = " ".join(r["text"] for r in replies)
        for number in ("3919", "116 006", "114", "17", "112"):
            self.assertIn(number, texts)
        translator = next(r["text"] for r in replies if "Traducteur" in r["title"])
        self.assertEqual(len(translator.splitlines()), 10)
        self.assertIn("We answer in French", translator)

    def test_lists_and_stats_answer_json_for_scripts(self):
        for command in (("unit", "list"), ("route", "list"), ("agent", "list"), ("reply", "list")):
            self.assertIsInstance(self.ctl_json(*command), list)
        stats = self.ctl_json("stats")
        self.assertEqual(set(stats), {"waiting", "active", "messages", "oldest_waiting_seconds", "days"})

    def test_metrics_prints_the_prometheus_text(self):
        text = self.ctl_ok("metrics")
        self.assertIn("# TYPE abri_waiting gauge", text)
        self.assertIn("# TYPE abri_conversations_started_total counter", text)
        self.assertRegex(text, r'(?m)^abri_operators_on_duty\{unit="PP-75"\} \d+$')
        for line in text.splitlines():
            if not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+\{[a-z]+="[^"]*"(,quantile="0\.\d")?\} \d+$')


class CannedReplies(StackCase):
    def test_an_operator_gets_the_replies_of_its_units_only(self):
        self.stack.ctl("unit", "add", "CAN-1", "--name", "Équipe A", "--kind", "police")
        self.stack.ctl("unit", "add", "CAN-2", "--name", "Équipe B", "--kind", "police")
        self.stack.ctl("reply", "add", "CAN-1", "--title", "Pour A", stdin="Texte de A\n")
        self.stack.ctl("reply", "add", "CAN-2", "--title", "Pour B", stdin="Texte de B\n")
        add_operator(self.stack, "canne", "CAN-1")
        status, body, _ = Operator(self.stack, "canne").call("GET", "/api/agent/replies", csrf=False)
        self.assertEqual(status, 200)
        self.assertEqual(len(body["replies"]), 1)
        reply = body["replies"][0]
        self.assertEqual({k: reply[k] for k in ("unit", "title", "text")},
                         {"unit": "CAN-1", "title": "Pour A", "text": "Texte de A"})
        self.assertIsInstance(reply["id"], int)
        self.assertEqual(self.stack.request("GET", "/api/agent/replies")[0], 401)


class NotesAndAuthors(StackCase):
    """Notes are for the unit's operators only; messages say who answered."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        operator_with_display(cls.stack, "nadia", "Nadia (brigade de nuit)", "PP-75")
        add_operator(cls.stack, "noel", "PP-75")
        add_operator(cls.stack, "marseille", "DDSP-13")

    def held_chat(self, holder):
        visitor = Visitor(self.stack)
        visitor.send("Il est rentré")
        holder.poll()
        self.assertEqual(holder.claim(visitor.session)[0], 200)
        return visitor

    def test_a_unit_may_sign_with_display_names(self):
        self.assertEqual(self.stack.ctl("unit", "add", "SIGN-64", "--name", "Brigade de Pau", "--kind", "gendarmerie")[0], 0)
        self.assertEqual(self.stack.ctl("route", "add", "64", "SIGN-64")[0], 0)
        operator_with_display(self.stack, "soline", "Soline", "SIGN-64")
        add_operator(self.stack, "sans-nom", "SIGN-64")
        soline, nameless = Operator(self.stack, "soline"), Operator(self.stack, "sans-nom")
        signed, unsigned = Visitor(self.stack, "64000"), Visitor(self.stack, "64000")
        self.assertEqual(soline.claim(signed.session)[0], 200)
        self.assertEqual(nameless.claim(unsigned.session)[0], 200)
        self.assertEqual(soline.say(signed.session, "Avant")[0], 201)

        status, out, err = self.stack.ctl("unit", "names", "SIGN-64", "on")
        self.assertEqual(status, 0, err)
        self.assertIn({"code": "SIGN-64", "signs_names": True},
                      [{k: u[k] for k in ("code", "signs_names")} for u in json.loads(self.stack.ctl("unit", "list", "--json")[1])])
        self.assertEqual(soline.say(signed.session, "Après")[0], 201)
        self.assertEqual(nameless.say(unsigned.session, "Sans nom")[0], 201)
        self.assertEqual(self.stack.ctl("unit", "names", "SIGN-64", "off")[0], 0)
        self.assertEqual(soline.say(signed.session, "De nouveau")[0], 201)

        # Signed when written under "on", by the display name only, never the username.
        authors = [(m["text"], m.get("author")) for m in signed.poll()["messages"] if m["from"] == "agent"]
        self.assertEqual(authors, [("Avant", None), ("Après", "Soline"), ("De nouveau", None)])
        self.assertNotIn("author", next(m for m in unsigned.poll()["messages"] if m["from"] == "agent"))
        self.assertNotEqual(self.stack.ctl("unit", "names", "NOPE", "on")[0], 0)
        self.assertNotEqual(self.stack.ctl("unit", "names", "SIGN-64", "maybe")[0], 0)

    def test_notes_reach_operators_and_never_the_person(self):
        nadia, noel = Operator(self.stack, "nadia"), Operator(self.stack, "noel")
        visitor = self.held_chat(nadia)
        secret = "Note : voix de l'agresseur entendue, prévenir la patrouille"
        status, body, _ = nadia.session_call("notes", visitor.session, {"text": secret})
        self.assertEqual(status, 201, body)
        self.assertEqual(set(body), {"id", "at"})
        # A colleague of the unit may add one, without holding the chat.
        self.assertEqual(noel.session_call("notes", visitor.session, {"text": "Patrouille prévenue"})[0], 201)
        # Another unit's operator may not even see it.
        self.assertEqual(Operator(self.stack, "marseille").session_call(
            "notes", visitor.session, {"text": "x"})[0], 404)
        self.assertEqual(nadia.say(visitor.session, "Nous sommes là")[0], 201)

        messages = [m for m in nadia.poll()["messages"] if m["session"] == visitor.session]
        notes = [m for m in messages if m["from"] == "note"]
        self.assertEqual([(m["text"], m["author"]) for m in notes],
                         [(secret, "Nadia (brigade de nuit)"), ("Patrouille prévenue", "noel")])
        self.assertNotIn("kind", notes[0])
        answer = next(m for m in messages if m["from"] == "agent")
        self.assertEqual(answer["author"], "Nadia (brigade de nuit)")

        seen = self.stack.every_message(visitor.token)
        self.assertIn("Nous sommes là", [m["text"] for m in seen])
        for m in seen:
            self.assertNotIn("author", m)
        everything = json.dumps(seen) + json.dumps(visitor.poll())
        self.assertNotIn("agresseur", everything)
        self.assertNotIn("Patrouille", everything)
        self.assertNotIn("Nadia", everything)

        status, text, _ = nadia.export(visitor.session)
        self.assertEqual(status, 200)
        self.assertIn("Note interne (Nadia (brigade de nuit)) : " + secret, text)
        self.assertIn("Équipe (Nadia (brigade de nuit)) : Nous sommes là", text)

    def test_a_note_is_checked_like_a_message(self):
        nadia = Operator(self.stack, "nadia")
        visitor = self.held_chat(nadia)
        self.assertEqual(nadia.session_call("notes", visitor.session, {"text": "   "})[0], 400)
        self.assertEqual(nadia.session_call("notes", visitor.session, {"text": "x" * 2001})[0], 400)
        self.assertEqual(nadia.session_call("notes", visitor.session, {"text": "ok"}, csrf=False)[0], 403)

    def test_notes_go_with_the_erased_conversation(self):
        nadia = Operator(self.stack, "nadia")
        visitor = self.held_chat(nadia)
        nadia.session_call("notes", visitor.session, {"text": "Note à effacer"})
        self.assertEqual(self.stack.sql("SELECT count(*) FROM messages WHERE text = 'Note à effacer'"), [(1,)])
        status, _, _ = self.stack.request("DELETE", "/api/session", token=visitor.token)
        self.assertIn(status, (204, 503))
        self.assertEqual(self.stack.sql("SELECT count(*) FROM messages WHERE text = 'Note à effacer'"), [(0,)])

    def test_a_handover_note_reaches_the_receiving_unit(self):
        nadia = Operator(self.stack, "nadia")
        visitor = self.held_chat(nadia)
        status, body, _ = nadia.session_call("transfer", visitor.session,
                                             {"unit": "DDSP-13", "note": "Elle est à Marseille, chez sa sœur"})
        self.assertEqual(status, 200, body)
        marseille = Operator(self.stack, "marseille")
        waiting = entry(marseille.poll(), visitor.session)
        self.assertEqual(waiting["handover"], "Elle est à Marseille, chez sa sœur")
        self.assertEqual(marseille.claim(visitor.session)[0], 200)
        after_claim = marseille.poll()
        self.assertNotIn("handover", entry(after_claim, visitor.session))
        notes = [m for m in after_claim["messages"] if m["session"] == visitor.session and m["from"] == "note"]
        self.assertEqual([(m["text"], m["author"]) for m in notes],
                         [("Elle est à Marseille, chez sa sœur", "Nadia (brigade de nuit)")])
        self.assertNotIn("sœur", json.dumps(self.stack.every_message(visitor.token)))
        self.assertEqual(nadia.session_call("transfer", visitor.session, {"unit": "PP-75", "note": ""})[0], 400)

    def test_the_export_is_in_the_console_time_zone(self):
        nadia = Operator(self.stack, "nadia")
        visitor = self.held_chat(nadia)
        path = "/api/agent/sessions/%s/export" % visitor.session
        stamps = {}
        for offset, label in ((0, "UTC+00:00"), (120, "UTC+02:00"), (-330, "UTC-05:30")):
            status, text, _ = nadia.call("GET", path + "?tz_offset=%d" % offset, csrf=False)
            self.assertEqual(status, 200)
            self.assertIn("Heures de la console (%s)" % label, text)
            stamps[offset] = re.search(r"Début : (\d{4}-\d\d-\d\d \d\d:\d\d):", text).group(1)
        self.assertNotEqual(stamps[0], stamps[120])
        self.assertNotEqual(stamps[120], stamps[-330])
        for bad in ("2000", "-800", "abc", "-"):
            status, body, _ = nadia.call("GET", path + "?tz_offset=" + bad, csrf=False)
            self.assertEqual((status, body["error"]["code"]), (400, "invalid_tz_offset"), bad)


class Typing(StackCase):
    """A signal both ways, never text, at most one write every few seconds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "tina", "PP-75")

    def test_typing_both_ways(self):
        tina = Operator(self.stack, "tina")
        visitor = Visitor(self.stack)
        visitor.send("Bonjour")
        self.assertEqual(tina.claim(visitor.session)[0], 200)
        self.assertFalse(entry(tina.poll(), visitor.session)["typing"])
        self.assertFalse(visitor.poll()["typing"])

        status, _, _ = self.stack.request("POST", "/api/session/typing", token=visitor.token)
        self.assertEqual(status, 204)
        self.assertTrue(entry(tina.poll(), visitor.session)["typing"])
        self.assertFalse(visitor.poll()["typing"], "the person's own signal is not the team's")

        # The person's page waits in its long-poll; the team's signal wakes it.
        self.assertEqual(tina.session_call("typing", visitor.session)[0], 204)
        status, body, _ = self.stack.request("GET", "/api/messages?after=%d&wait=1" % 10 ** 9, token=visitor.token)
        self.assertEqual(status, 200)
        self.assertTrue(body["typing"])
        # And it goes out again after a few seconds without a signal.
        eventually(lambda: not visitor.poll()["typing"], seconds=10, what="the team's typing to end")
        eventually(lambda: not entry(tina.poll(), visitor.session)["typing"], seconds=10,
                   what="the person's typing to end")

    def test_a_signal_between_two_polls_is_not_missed(self):
        tina = Operator(self.stack, "tina")
        visitor = Visitor(self.stack)
        visitor.send("Bonjour")
        self.assertEqual(tina.claim(visitor.session)[0], 200)
        last = max(m["id"] for m in visitor.poll()["messages"])
        self.assertEqual(tina.session_call("typing", visitor.session)[0], 204)
        # The page shows nothing yet: its long-poll answers at once, where
        # it used to park for its whole wait (the client gives up first).
        status, body, _ = self.stack.request(
            "GET", "/api/messages?after=%d&wait=30&typing=0" % last, token=visitor.token, timeout=20)
        self.assertEqual(status, 200)
        self.assertTrue(body["typing"])
        self.assertEqual(body["messages"], [])

        # Showing it, the page parks; the operator's reply ends the typing.
        self.assertEqual(tina.say(visitor.session, "Nous sommes là.")[0], 201)
        body = visitor.poll(last)
        self.assertFalse(body["typing"], "the team's message ends its typing")
        self.assertEqual([m["text"] for m in body["messages"]], ["Nous sommes là."])
        status, body, _ = self.stack.request("GET", "/api/messages?after=0&wait=0&typing=2", token=visitor.token)
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_typing"))

    def test_a_new_signal_wakes_a_poll_that_shows_typing(self):
        tina = Operator(self.stack, "tina")
        visitor = Visitor(self.stack)
        visitor.send("Bonjour")
        self.assertEqual(tina.claim(visitor.session)[0], 200)
        last = max(m["id"] for m in visitor.poll()["messages"])
        self.assertEqual(tina.session_call("typing", visitor.session)[0], 204)
        answers = []
        poll = threading.Thread(target=lambda: answers.append(self.stack.request(
            "GET", "/api/messages?after=%d&wait=30&typing=1" % last, token=visitor.token, timeout=40)))
        poll.start()
        # The operator goes on typing: the throttle writes the next signal a
        # few seconds later, and that one answers the parked poll.
        def typing_again():
            self.assertEqual(tina.session_call("typing", visitor.session)[0], 204)
            poll.join(0.5)
            return not poll.is_alive()
        eventually(typing_again, seconds=20, what="a new signal to wake the poll")
        status, body, _ = answers[0]
        self.assertEqual(status, 200)
        self.assertTrue(body["typing"])

    def test_typing_is_throttled_and_carries_no_text(self):
        tina = Operator(self.stack, "tina")
        visitor = Visitor(self.stack)
        visitor.send("Bonjour")
        self.assertEqual(tina.claim(visitor.session)[0], 200)
        at = lambda: self.stack.sql("SELECT visitor_typing_at FROM sessions WHERE public_id = ?", visitor.session)[0][0]
        self.assertEqual(self.stack.request("POST", "/api/session/typing", token=visitor.token)[0], 204)
        first = at()
        self.assertGreater(first, 0)
        for _ in range(5):
            self.assertEqual(self.stack.request("POST", "/api/session/typing", token=visitor.token)[0], 204)
        self.assertEqual(at(), first, "signals within a few seconds are dropped")
        status, body, _ = self.stack.request("POST", "/api/session/typing", {"text": "brouillon"},
                                             token=visitor.token)
        self.assertEqual(status, 400)
        self.assertEqual(tina.session_call("typing", visitor.session, {"text": "brouillon"})[0], 400)
        self.assertEqual(self.stack.request("POST", "/api/session/typing")[0], 401)
        self.assertEqual(self.stack.request("GET", "/api/session/typing", token=visitor.token)[0], 405)

    def test_only_the_holder_signals_typing(self):
        add_operator(self.stack, "tom", "PP-75")
        tina, tom = Operator(self.stack, "tina"), Operator(self.stack, "tom")
        visitor = Visitor(self.stack)
        self.assertEqual(tina.claim(visitor.session)[0], 200)
        self.assertEqual(tom.session_call("typing", visitor.session)[0], 403)


class DailyStatistics(StackCase):
    """A scripted day of a unit of its own: what `abrictl stats` and the
    metrics say after it, and that they hold no session id."""

    stack_env = {"ABRI_ESCALATE_AFTER": "2"}

    def test_a_day_of_conversations(self):
        ctl = self.stack.ctl
        for code in ("DAY-1", "DAY-2"):
            self.assertEqual(ctl("unit", "add", code, "--name", "Équipe " + code, "--kind", "police")[0], 0)
        ctl("route", "add", "973", "DAY-1")
        ctl("unit", "fallback", "DAY-1", "DAY-2")
        add_operator(self.stack, "diane", "DAY-1")
        diane = Operator(self.stack, "diane")
        diane.poll()  # on duty: new conversations stay with DAY-1

        answered = [Visitor(self.stack, "97300") for _ in range(2)]
        # Started 100 and 300 seconds ago: the first answers come that late.
        for visitor, ago in zip(answered, (100, 300)):
            self.stack.sql("UPDATE sessions SET created_at = created_at - ? WHERE public_id = ?", ago, visitor.session)
            visitor.send("Bonjour")
            self.assertEqual(diane.claim(visitor.session)[0], 200)
            self.assertEqual(diane.say(visitor.session, "Nous sommes là")[0], 201)
            self.assertEqual(diane.say(visitor.session, "Un second message ne compte pas")[0], 201)
        left = Visitor(self.stack, "97300")
        self.assertEqual(self.stack.request("POST", "/api/session/leave", {"quick": False}, token=left.token)[0], 204)
        fled = Visitor(self.stack, "97300")
        self.assertEqual(self.stack.request("POST", "/api/session/leave", {"quick": True}, token=fled.token)[0], 204)
        # Nobody of DAY-1 on duty any more: a waiting chat escalates to
        # DAY-2 once someone there is.
        self.assertEqual(diane.call("PUT", "/api/agent/presence", {"status": "away"})[0], 200)
        escalated = Visitor(self.stack, "97300")
        self.assertEqual(escalated.opened["unit"]["name"], "Équipe DAY-1")
        add_operator(self.stack, "damien", "DAY-2")
        damien = Operator(self.stack, "damien")
        eventually(lambda: damien.poll() and escalated.poll()["unit"]["name"] == "Équipe DAY-2", seconds=15,
                   what="the escalation")

        status, out, err = ctl("stats", "--json")
        self.assertEqual(status, 0, err)
        days = {d["unit"]: d for d in json.loads(out)["days"]}
        day1 = days["DAY-1"]
        self.assertEqual((day1["started"], day1["answered"], day1["left_unanswered"], day1["quick_exits"],
                          day1["escalations"]), (5, 2, 2, 1, 1))
        self.assertNotIn("DAY-2", days, "an escalated chat is not started again")
        self.assertAlmostEqual(day1["first_answer_median"], 100, delta=3)
        self.assertAlmostEqual(day1["first_answer_p90"], 300, delta=3)
        self.assertRegex(day1["day"], r"^\d{4}-\d\d-\d\d$")

        status, table, _ = ctl("stats")
        self.assertRegex(table, r"(?m)^\d{4}-\d\d-\d\d\s+DAY-1\s+5\s+2\s+\d+\s+\d+\s+2\s+1\s+1$")
        status, metrics, _ = ctl("metrics")
        self.assertIn('abri_conversations_started_total{unit="DAY-1"} 5', metrics)
        self.assertIn('abri_escalations_total{unit="DAY-1"} 1', metrics)
        self.assertIn('abri_quick_exits_total{unit="DAY-1"} 1', metrics)
        self.assertRegex(metrics, r'abri_first_answer_seconds\{unit="DAY-1",quantile="0.9"\} (29[7-9]|30[0-3])')
        # Aggregates only: no session id, no text anywhere.
        for visitor in answered + [left, fled, escalated]:
            self.assertNotIn(visitor.session, out + table + metrics)
        self.assertNotIn("Bonjour", out + table + metrics)
