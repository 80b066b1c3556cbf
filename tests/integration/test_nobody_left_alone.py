"""Nobody left alone (shared/API.md): a person who writes always reaches a
human. Whatever way the operator who answered goes (logout, disabled,
login expired, release, console silent), the conversation is back in the
unit's queue, the person's state is `waiting` again and a colleague claims
it. A unit nobody staffs passes new and waiting conversations along its
fallback. Through the real nginx and programs; the clock is never faked,
short timers come from the environment (ABRI_AGENT_GONE_AFTER,
ABRI_ESCALATE_AFTER)."""
import time

from operators import Operator, add_operator
from stack import StackCase

PARIS = "75011"  # PP-75 in the demo data


def entry(body, session):
    return next((e for e in body["queue"] if e["session"] == session), None)


def eventually(check, seconds=10, what="the condition"):
    """Calls check() until it returns something true, or fails after
    `seconds`: the programs act on their own time, tests never sleep a
    fixed time."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("%s did not happen within %d s" % (what, seconds))
        time.sleep(0.1)


class Visitor:
    """One person's page, through the public API."""

    def __init__(self, stack, postcode=PARIS, role="victim", lang=None):
        self.stack = stack
        body = {"postcode": postcode, "role": role}
        if lang:
            body["lang"] = lang
        status, self.opened, _ = stack.request("POST", "/api/session", body)
        if status != 201:
            raise AssertionError("POST /api/session: %d %r" % (status, self.opened))
        self.token = self.opened["token"]
        self.session = self.opened["session"]

    def send(self, text, client_id=None):
        body = {"text": text}
        if client_id:
            body["client_id"] = client_id
        return self.stack.request("POST", "/api/messages", body, token=self.token)

    def poll(self, after=0):
        status, body, _ = self.stack.request("GET", "/api/messages?after=%d&wait=0" % after, token=self.token)
        if status != 200:
            raise AssertionError("poll: %d %r" % (status, body))
        return body

    def kinds(self):
        return [m.get("kind") for m in self.poll()["messages"] if m["from"] == "system"]


class ShiftChange(StackCase):
    """The five ways an operator goes, each giving the chat back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("rose", "remi", "rita", "raoul", "ruth", "colette"):
            add_operator(cls.stack, name, "PP-75")

    def claimed_chat(self, holder):
        visitor = Visitor(self.stack)
        self.assertEqual(visitor.send("Il me menace")[0], 201)
        holder.poll()
        self.assertEqual(holder.claim(visitor.session)[0], 200)
        self.assertEqual(visitor.poll()["state"], "active")
        return visitor

    def assert_back_with_a_colleague(self, visitor):
        """The person is waiting again and told so; a colleague sees the
        chat at the head of the queue and claims it."""
        state = eventually(lambda: visitor.poll()["state"] == "waiting", what="the release")
        self.assertTrue(state)
        self.assertEqual(visitor.kinds()[-1], "released")
        colleague = Operator(self.stack, "colette")
        queue = colleague.poll()
        waiting = entry(queue, visitor.session)
        self.assertIsNotNone(waiting, "the colleague does not see the released chat")
        self.assertEqual(waiting["state"], "waiting")
        self.assertFalse(waiting["mine"])
        self.assertEqual(colleague.claim(visitor.session)[0], 200)
        # The colleague gets the whole history, the person's words included.
        history = colleague.poll()["messages"]
        texts = [m["text"] for m in history if m["session"] == visitor.session]
        self.assertIn("Il me menace", texts)
        self.assertIn("released", [m.get("kind") for m in history if m["session"] == visitor.session])
        self.assertEqual(visitor.poll()["state"], "active")
        colleague.close(visitor.session)

    def test_logout_gives_the_chat_back(self):
        rose = Operator(self.stack, "rose")
        visitor = self.claimed_chat(rose)
        status, _, _ = rose.call("POST", "/api/agent/logout")
        self.assertEqual(status, 204)
        self.assert_back_with_a_colleague(visitor)

    def test_disabled_operator_gives_the_chat_back(self):
        remi = Operator(self.stack, "remi")
        visitor = self.claimed_chat(remi)
        status, out, err = self.stack.ctl("agent", "disable", "remi")
        self.assertEqual(status, 0, err)
        self.assertIn("1 conversation", out)
        self.assert_back_with_a_colleague(visitor)

    def test_expired_login_gives_the_chat_back(self):
        rita = Operator(self.stack, "rita")
        visitor = self.claimed_chat(rita)
        # Twelve hours pass for this login only: no clock to fake, the
        # expiry the program reads is moved instead.
        self.stack.sql("UPDATE agent_logins SET expires_at = 1 WHERE agent_id = "
                       "(SELECT id FROM agents WHERE username = 'rita')")
        self.assertEqual(rita.events()[0], 401)
        self.assert_back_with_a_colleague(visitor)

    def test_release_gives_the_chat_back(self):
        raoul = Operator(self.stack, "raoul")
        visitor = self.claimed_chat(raoul)
        status, body, _ = raoul.session_call("release", visitor.session)
        self.assertEqual(status, 200, body)
        self.assertEqual(visitor.poll()["state"], "waiting")  # at once, no sweep needed
        given_back = entry(raoul.poll(), visitor.session)
        self.assertEqual((given_back["state"], given_back["mine"]), ("waiting", False))
        self.assert_back_with_a_colleague(visitor)

    def test_release_is_only_for_the_holder(self):
        ruth = Operator(self.stack, "ruth")
        visitor = self.claimed_chat(ruth)
        colette = Operator(self.stack, "colette")
        status, body, _ = colette.session_call("release", visitor.session)
        self.assertEqual((status, body["error"]["code"]), (403, "not_yours"))
        self.assertEqual(ruth.session_call("release", visitor.session, csrf=False)[0], 403)
        self.assertEqual(visitor.poll()["state"], "active")
        ruth.close(visitor.session)


class SilentConsole(StackCase):
    """A console that stopped polling (a closed laptop, a dead network) for
    ABRI_AGENT_GONE_AFTER seconds lets its chats go."""

    # Three seconds: a polling console's next poll comes within a second
    # (wait=1), with two to spare on a loaded machine.
    stack_env = {"ABRI_AGENT_GONE_AFTER": "3"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "sam", "PP-75")
        add_operator(cls.stack, "sue", "PP-75")

    def test_a_silent_console_gives_the_chat_back(self):
        sam = Operator(self.stack, "sam")
        visitor = Visitor(self.stack)
        visitor.send("Vous êtes là ?")
        sam.poll()
        self.assertEqual(sam.claim(visitor.session)[0], 200)
        started = time.monotonic()
        # The person's own polls drive the check: no daemon.
        eventually(lambda: visitor.poll()["state"] == "waiting", seconds=15, what="the release of a silent console")
        self.assertGreaterEqual(time.monotonic() - started, 1.0)  # not before the console was gone
        self.assertEqual(visitor.kinds()[-1], "released")
        sue = Operator(self.stack, "sue")
        self.assertEqual(sue.claim(visitor.session)[0], 200)

    def test_a_polling_console_keeps_its_chat(self):
        sue = Operator(self.stack, "sue")
        visitor = Visitor(self.stack)
        visitor.send("Bonjour")
        sue.poll()
        self.assertEqual(sue.claim(visitor.session)[0], 200)
        deadline = time.monotonic() + 6  # twice ABRI_AGENT_GONE_AFTER
        while time.monotonic() < deadline:
            sue.poll(wait=1)
            self.assertEqual(visitor.poll()["state"], "active")
        sue.close(visitor.session)


class OnDutyAndFallback(StackCase):
    """On duty, routing along the fallback chain, escalation. Each test has
    units of its own, so that operators of other tests do not count."""

    stack_env = {"ABRI_ESCALATE_AFTER": "2"}

    def units(self, prefix, postcode_key):
        """A unit nobody staffs (ALONE, routed from `postcode_key`) whose
        fallback is STAFFED, with one operator each."""
        ctl = self.stack.ctl
        alone, staffed = prefix + "-ALONE", prefix + "-STAFFED"
        for code in (alone, staffed):
            self.assertEqual(ctl("unit", "add", code, "--name", "Équipe " + code, "--kind", "gendarmerie")[0], 0)
        self.assertEqual(ctl("route", "add", postcode_key, alone)[0], 0)
        status, out, err = ctl("unit", "fallback", alone, staffed)
        self.assertEqual(status, 0, err)
        add_operator(self.stack, prefix.lower() + "-a", alone)
        add_operator(self.stack, prefix.lower() + "-s", staffed)
        return alone, staffed

    def test_on_duty_follows_presence(self):
        self.units("DUTY", "01")
        visitor = Visitor(self.stack, "01000")
        self.assertFalse(visitor.opened["on_duty"])
        self.assertFalse(visitor.poll()["on_duty"])
        keeper = Operator(self.stack, "duty-a")
        body = keeper.poll()
        self.assertEqual(body["presence"], "available")
        self.assertIn({"code": "DUTY-ALONE", "on_duty": True, "on_duty_names": ["duty-a"]}, body["units"])
        self.assertTrue(visitor.poll()["on_duty"])
        status, answer, _ = keeper.call("PUT", "/api/agent/presence", {"status": "away"})
        self.assertEqual((status, answer), (200, {"status": "away"}))
        self.assertFalse(visitor.poll()["on_duty"])
        body = keeper.poll()
        self.assertEqual(body["presence"], "away")
        self.assertIn({"code": "DUTY-ALONE", "on_duty": False, "on_duty_names": []}, body["units"])
        keeper.call("PUT", "/api/agent/presence", {"status": "available"})
        self.assertTrue(visitor.poll()["on_duty"])
        self.assertEqual(keeper.call("PUT", "/api/agent/presence", {"status": "asleep"})[0], 400)
        self.assertEqual(keeper.call("PUT", "/api/agent/presence", {"status": "away"}, csrf=False)[0], 403)
        status, _, _ = keeper.call("POST", "/api/agent/logout")
        self.assertFalse(visitor.poll()["on_duty"])

    def test_new_sessions_go_to_the_first_unit_on_duty(self):
        alone, staffed = self.units("ROUTE", "02")
        nobody = Visitor(self.stack, "02100")
        self.assertEqual(nobody.opened["unit"]["name"], "Équipe " + alone)  # nobody anywhere: its own unit
        self.assertFalse(nobody.opened["on_duty"])
        Operator(self.stack, "route-s").poll()
        visitor = Visitor(self.stack, "02100")
        self.assertEqual(visitor.opened["unit"]["name"], "Équipe " + staffed)
        self.assertTrue(visitor.opened["on_duty"])
        self.assertEqual(visitor.poll()["unit"]["name"], "Équipe " + staffed)

    def test_an_unseen_waiting_chat_is_escalated(self):
        alone, staffed = self.units("ESC", "03")
        visitor = Visitor(self.stack, "03000")
        visitor.send("Personne ne répond ?")
        self.assertEqual(visitor.opened["unit"]["name"], "Équipe " + alone)
        keeper = Operator(self.stack, "esc-s")
        keeper.poll()  # the fallback comes on duty; the first unit still has nobody
        answer = eventually(lambda: (lambda b: b if b["unit"]["name"] == "Équipe " + staffed else None)(
            visitor.poll()), seconds=15, what="the escalation")
        self.assertTrue(answer["on_duty"])
        self.assertEqual(visitor.kinds()[-1], "escalated")
        waiting = entry(keeper.poll(), visitor.session)
        self.assertIsNotNone(waiting)
        self.assertEqual(waiting["unit"]["code"], staffed)
        self.assertEqual(waiting["preview"], "Personne ne répond ?")
        self.assertEqual(keeper.claim(visitor.session)[0], 200)

    def test_a_unit_on_duty_keeps_its_waiting_chats(self):
        alone, _ = self.units("KEEP", "04")
        keeper = Operator(self.stack, "keep-a")
        keeper.poll()
        Operator(self.stack, "keep-s").poll()
        visitor = Visitor(self.stack, "04000")
        self.assertEqual(visitor.opened["unit"]["name"], "Équipe " + alone)
        deadline = time.monotonic() + 4  # twice ABRI_ESCALATE_AFTER, with someone on duty
        while time.monotonic() < deadline:
            keeper.poll(wait=1)
            self.assertEqual(visitor.poll()["unit"]["name"], "Équipe " + alone)

    def test_fallback_commands(self):
        ctl = self.stack.ctl
        ctl("unit", "add", "FB-X", "--name", "X", "--kind", "police")
        self.assertNotEqual(ctl("unit", "fallback", "FB-X", "FB-X")[0], 0)
        self.assertNotEqual(ctl("unit", "fallback", "FB-X", "NOPE")[0], 0)
        self.assertEqual(ctl("unit", "fallback", "FB-X", "PP-75")[0], 0)
        status, out, _ = ctl("unit", "list")
        self.assertEqual(status, 0)
        self.assertRegex(out, r"(?m)^FB-X\s+police\s+PP-75\s+kind\s+X$")
        self.assertEqual(ctl("unit", "fallback", "FB-X", "none")[0], 0)
        self.assertRegex(ctl("unit", "list")[1], r"(?m)^FB-X\s+police\s+-\s+kind\s+X$")


class NothingVanishes(StackCase):
    """What the person did stays visible to the team, as the contract says."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ("nina", "noe", "nils"):
            add_operator(cls.stack, name, "PP-75")

    def test_every_system_message_has_a_kind(self):
        nina = Operator(self.stack, "nina")
        visitor = Visitor(self.stack)
        visitor.send("un")
        nina.poll()
        nina.claim(visitor.session)
        nina.say(visitor.session, "deux")
        nina.transfer(visitor.session, "PP-75")
        nina.poll()
        nina.claim(visitor.session)
        nina.close(visitor.session)
        seen = [m for m in visitor.poll()["messages"] if m["from"] == "system"]
        self.assertEqual([m["kind"] for m in seen], ["claimed", "transferred", "claimed", "closed"])
        for m in visitor.poll()["messages"]:
            self.assertEqual("kind" in m, m["from"] == "system", m)

    def test_a_person_who_leaves_before_an_answer_stays_listed(self):
        visitor = Visitor(self.stack)
        visitor.send("Je dois partir, il rentre")
        status, _, _ = self.stack.request("POST", "/api/session/leave", {"quick": True}, token=visitor.token)
        self.assertEqual(status, 204)
        noe = Operator(self.stack, "noe")
        left = entry(noe.poll(), visitor.session)
        self.assertIsNotNone(left, "a person who left before an answer vanished from the queue")
        self.assertEqual((left["state"], left["mine"], left["quick_exit"]), ("left", False, True))
        self.assertEqual(left["preview"], "Je dois partir, il rentre")
        # Opening it shows what the person wrote, read only.
        self.assertEqual(noe.claim(visitor.session)[0], 200)
        body = noe.poll()
        mine = [m for m in body["messages"] if m["session"] == visitor.session]
        self.assertIn("Je dois partir, il rentre", [m["text"] for m in mine])
        self.assertIn("quick_exit", [m.get("kind") for m in mine])
        self.assertEqual(noe.say(visitor.session, "Allô ?")[0], 409)
        # Opened by one, it is no longer offered to the others.
        self.assertIsNone(entry(Operator(self.stack, "nils").poll(), visitor.session))

    def test_an_erased_chat_is_named_to_its_operator(self):
        nils = Operator(self.stack, "nils")
        visitor = Visitor(self.stack)
        visitor.send("secret")
        nils.poll()
        nils.claim(visitor.session)
        nils.poll()
        status, _, _ = self.stack.request("DELETE", "/api/session", token=visitor.token)
        self.assertEqual(status, 204)
        body = nils.poll()
        self.assertIn(visitor.session, body["erased"])
        self.assertIsNone(entry(body, visitor.session))
        self.assertNotIn("secret", str(body))

    def test_a_resend_with_the_same_client_id_is_stored_once(self):
        visitor = Visitor(self.stack)
        first = visitor.send("hors ligne", client_id="k1-a")
        again = visitor.send("hors ligne", client_id="k1-a")
        self.assertEqual(first[0], 201)
        self.assertEqual(again[0], 201)
        self.assertEqual(first[1], again[1])
        texts = [m["text"] for m in visitor.poll()["messages"]]
        self.assertEqual(texts.count("hors ligne"), 1)
        self.assertEqual(visitor.send("x", client_id="no spaces")[0], 400)
        self.assertEqual(visitor.send("x", client_id="a" * 65)[0], 400)
        # The same for an operator's reply.
        nina = Operator(self.stack, "nina")
        nina.poll()
        nina.claim(visitor.session)
        one = nina.session_call("messages", visitor.session, {"text": "réponse", "client_id": "op-1"})
        two = nina.session_call("messages", visitor.session, {"text": "réponse", "client_id": "op-1"})
        self.assertEqual(one[1], two[1])
        self.assertEqual([m["text"] for m in visitor.poll()["messages"]].count("réponse"), 1)
        nina.close(visitor.session)

    def test_danger_now_puts_the_person_first(self):
        noe = Operator(self.stack, "noe")
        calm = Visitor(self.stack)
        calm.send("bonjour")
        scared = Visitor(self.stack)
        scared.send("au secours")
        status, body, _ = self.stack.request("POST", "/api/session/danger", {}, token=scared.token)
        self.assertEqual((status, body), (200, {"danger": True}))
        self.assertEqual(self.stack.request("POST", "/api/session/danger", None, token=scared.token)[0], 200)
        self.assertTrue(scared.poll()["danger"])
        self.assertEqual(scared.kinds().count("danger"), 1)  # said once, however often tapped
        waiting = [e for e in noe.poll()["queue"] if e["state"] == "waiting" and not e["mine"]]
        self.assertEqual(waiting[0]["session"], scared.session)
        self.assertTrue(waiting[0]["danger"])
        self.assertFalse(entry({"queue": waiting}, calm.session)["danger"])
        self.assertEqual(self.stack.request("POST", "/api/session/danger", {})[0], 401)

    def test_lang_is_kept_and_shown(self):
        visitor = Visitor(self.stack, lang="ar")
        self.assertEqual(visitor.opened["lang"], "ar")
        self.assertEqual(visitor.poll()["lang"], "ar")
        self.assertEqual(entry(Operator(self.stack, "noe").poll(), visitor.session)["lang"], "ar")
        status, body, _ = self.stack.request("POST", "/api/session",
                                             {"postcode": PARIS, "role": "victim", "lang": "xx"})
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_lang"))
