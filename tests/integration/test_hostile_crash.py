"""Crash safety: the FastCGI programs killed with SIGKILL again and again in
the middle of a burst of sends. Every message that was acknowledged with
201 is there afterwards, in order, the database passes PRAGMA
integrity_check, every other answer was the JSON 503, and the service
answers again once stack.sh has started the programs again."""
import os
import signal
import threading
import unittest

from hostile import integrity, pid, restarted, wait_for
from stack import Stack, UNLIMITED_SENDS

SENDERS = 8
KILLS = 3
BURST = 40  # messages acknowledged before each kill, and after the last


class KilledMidBurst(unittest.TestCase):
    def test_every_acknowledged_message_survives_sigkill_of_the_programs(self):
        with Stack(env=UNLIMITED_SENDS) as stack:
            tokens = [stack.open_session("75011")["token"] for _ in range(SENDERS)]
            acknowledged = {i: [] for i in range(SENDERS)}  # sender -> [(id, text)]
            refused = []
            stop = threading.Event()

            def sender(i):
                n = 0
                while not stop.is_set():
                    text = "message %d de %d" % (n, i)
                    try:
                        status, body, headers = stack.request("POST", "/api/messages", {"text": text},
                                                              token=tokens[i], timeout=30)
                    except OSError as error:  # the connection itself broke: nothing was acknowledged
                        refused.append(("connection", repr(error)))
                        continue
                    if status == 201:
                        acknowledged[i].append((body["id"], text))
                    else:
                        refused.append((status, body, headers.get("Content-Type")))
                    n += 1

            def burst_goes_on():
                """Waits for the senders to have some more messages acknowledged."""
                before = sum(len(v) for v in acknowledged.values())
                self.assertTrue(wait_for(lambda: sum(len(v) for v in acknowledged.values()) >= before + BURST,
                                         timeout=30), "the burst stopped")

            threads = [threading.Thread(target=sender, args=(i,)) for i in range(SENDERS)]
            for t in threads:
                t.start()
            try:
                for _ in range(KILLS):
                    burst_goes_on()
                    old = {name: pid(stack, name) for name in ("messages", "session")}
                    for number in old.values():
                        os.kill(number, signal.SIGKILL)
                    for name, number in old.items():
                        self.assertTrue(restarted(stack, name, number, timeout=20), name + " was not restarted")
                burst_goes_on()  # against the restarted programs
            finally:
                stop.set()
                for t in threads:
                    t.join(60)

            total = sum(len(v) for v in acknowledged.values())
            self.assertGreater(total, 50, "the burst hardly ran")
            self.assertTrue(refused, "no send was caught by a kill: the test proves nothing")
            for answer in refused:
                if answer[0] == "connection":
                    continue
                status, body, kind = answer
                self.assertEqual(status, 503, answer)
                self.assertTrue((kind or "").startswith("application/json"), answer)
                self.assertEqual(set(body), {"error"}, answer)

            # The service answers again (the last restart may still be
            # starting: slower with sanitizers), and every 201 is there, in order.
            self.assertTrue(wait_for(lambda: stack.request("GET", "/api/messages?wait=0", token=tokens[0])[0] == 200,
                                     timeout=30, step=0.2))
            for i, token in enumerate(tokens):
                seen = [(m["id"], m["text"]) for m in stack.every_message(token) if m["from"] == "visitor"]
                seen_set = set(seen)
                missing = [m for m in acknowledged[i] if m not in seen_set]
                self.assertEqual(missing, [], "acknowledged messages lost")
                self.assertEqual([m for m in seen if m in set(acknowledged[i])], acknowledged[i])
            self.assertEqual(stack.request("POST", "/api/messages", {"text": "après"}, token=tokens[0])[0], 201)
            self.assertEqual(integrity(stack.db), [("ok",)])
            stack.stop_processes()
            self.assertEqual(integrity(stack.db), [("ok",)])
            stored = set(stack.sql("SELECT id, text FROM messages"))
            for messages in acknowledged.values():
                self.assertTrue(set(messages) <= stored)


if __name__ == "__main__":
    unittest.main()
