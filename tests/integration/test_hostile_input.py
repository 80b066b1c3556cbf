"""Hostile input: the fuzz corpus and every fuzz regression replayed through
the real parsers of lib/ (tests/fuzz/), and the shapes that break parsers
sent through the real nginx to every endpoint that reads a body. Each is
refused with 400 (or 413/415) in the contract's JSON shape, at once, and
no program dies."""
import glob
import json
import os
import subprocess
import time
import unittest

from hostile import assert_error, pid, raw_http
from operators import Operator, add_operator
from stack import BIN, ROOT, StackCase

FUZZ = os.path.join(ROOT, "tests", "fuzz")


def build_dir():
    """build/rel or build/san, as the Makefile chose for $(BIN)."""
    unit = os.environ.get("ABRI_UNIT_TESTS")
    if unit:
        return os.path.dirname(unit)
    return os.path.join(ROOT, "build", "san" if os.path.basename(BIN.rstrip("/")) == "san" else "rel")


def fuzz_targets():
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(FUZZ, "*.cpp"))
                  if os.path.basename(p) != "replay.cpp")


class FuzzRegressions(unittest.TestCase):
    """STYLE.md rule 9: every input that once crashed a target, and the
    whole corpus, runs again at every `make test` (sanitized with
    SANITIZE=1)."""

    @classmethod
    def setUpClass(cls):
        cls.build = build_dir()
        missing = [t for t in fuzz_targets() if not os.path.exists(os.path.join(cls.build, "fuzz-replay", t))]
        if missing:
            args = ["make", "-s", "--no-print-directory", "-C", ROOT, "fuzz-replay"]
            if cls.build.endswith("san"):
                args.append("SANITIZE=1")
            subprocess.run(args, check=True, capture_output=True)

    def test_every_target_has_a_seed_corpus(self):
        for target in fuzz_targets():
            with self.subTest(target=target):
                self.assertTrue(os.listdir(os.path.join(FUZZ, "corpus", target)))

    def test_corpus_and_regression_inputs_replay_without_a_failure(self):
        for target in fuzz_targets():
            with self.subTest(target=target):
                done = subprocess.run([os.path.join(self.build, "fuzz-replay", target),
                                       os.path.join(FUZZ, "corpus", target),
                                       os.path.join(FUZZ, "regressions", target)],
                                      capture_output=True, text=True, timeout=300)
                last_input = done.stderr.strip().splitlines()[-1:] if done.returncode else ""
                self.assertEqual(done.returncode, 0, "%s failed on %s:\n%s" % (target, last_input, done.stderr[-3000:]))
                self.assertRegex(done.stdout, r"^[1-9][0-9]* inputs replayed")


def nested(depth, inner=b"1"):
    return b"[" * depth + inner + b"]" * depth


class HostileBodies(StackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        add_operator(cls.stack, "hostile", "PP-75")
        cls.token = cls.stack.open_session("75011")["token"]
        cls.leave_token = cls.stack.open_session("75011")["token"]  # must survive every refused leave
        cls.session = cls.stack.open_session("75011")["session"]
        cls.operator = Operator(cls.stack, "hostile")
        cls.pids = {name: pid(cls.stack, name) for name in ("session", "messages", "agent")}

    def post(self, path, raw, content_type="application/json"):
        token = self.leave_token if path == "/api/session/leave" else self.token
        headers = {"Content-Type": content_type, "Authorization": "Bearer " + token}
        if path.startswith("/api/agent/"):
            headers = dict(self.operator.headers(), **{"Content-Type": content_type})
        return self.stack.request("POST", path, raw=raw, headers=headers)

    def endpoints(self):
        """Every endpoint that reads a JSON body, with the name of one of its fields."""
        return [("/api/session", "postcode"), ("/api/messages", "text"), ("/api/session/leave", "quick"),
                ("/api/agent/login", "username"), ("/api/agent/sessions/%s/messages" % self.session, "text"),
                ("/api/agent/sessions/%s/transfer" % self.session, "unit")]

    def assert_programs_alive(self):
        for name, old in self.pids.items():
            self.assertEqual(pid(self.stack, name), old, "%s was restarted" % name)
        self.assertNotIn("stopped", self.stack.read_log())

    def test_json_nested_deep_is_refused_at_once_on_every_endpoint(self):
        for path, field in self.endpoints():
            # The body limit (16 KiB) allows about 8000 levels: each is refused
            # as soon as the parser passes the depth limit (lib/limits.hpp).
            for depth in (5, 64, 8000):
                for body in (nested(depth), b'{"%s":' % field.encode() + nested(depth) + b"}",
                             b'{"%s":' % field.encode() + b'{"a":' * depth + b"1" + b"}" * depth + b"}"):
                    with self.subTest(path=path, depth=depth, start=body[:12]):
                        if len(body) > 16 * 1024:
                            continue
                        start = time.monotonic()
                        assert_error(self, self.post(path, body), 400)
                        self.assertLess(time.monotonic() - start, 2)
        self.assert_programs_alive()

    def test_shapes_that_break_parsers_are_400(self):
        shapes = [
            b'{"text":"a\x00b"}', b"{\x00}",                 # NUL bytes
            b'{"text":"\\ud800"}', b'{"text":"\\udc00\\ud800"}',  # lone surrogates
            b'{"text":"caf\xe9"}', b'{"text":"\xed\xa0\x80"}', b'{"text":"\xc0\xaf"}',  # invalid UTF-8
            b'{"text":1e999999}', b'{"text":' + b"9" * 5000 + b"}", b'{"text":-}',  # numbers
            b'{"' + b"k" * 15000 + b'":1}',                  # a huge key
            b'{"text":"a"}x', b"{}{}", b'""', b"null", b"[]", b"1", b"",  # not one object
            b'{"text":"a', b'{"text"', b"{", b"}", b"]",     # cut short
            b'{/*c*/"text":"a"}', b'{"text":NaN}', b"{'text':'a'}",  # not JSON
            json.dumps({k: "x" for k in "abcdefghijk"}).encode(),  # too many fields
            b'{"text":{"text":{"text":{"text":"deep"}}}}',
        ]
        for path, _ in self.endpoints():
            for raw in shapes:
                with self.subTest(path=path, body=raw[:40]):
                    if raw == b"" and path == "/api/session/leave":
                        continue  # an empty leave is the keepalive beacon
                    assert_error(self, self.post(path, raw), 400)
        self.assert_programs_alive()
        # Nothing was acted upon: the visitor who "left" in every way is still there.
        self.assertEqual(self.stack.request("GET", "/api/messages?wait=0", token=self.leave_token)[0], 200)

    def test_bodies_over_the_limit_or_not_json_are_413_and_415(self):
        for path, field in self.endpoints():
            with self.subTest(path=path):
                big = json.dumps({field: "x" * 17000}).encode()
                assert_error(self, self.post(path, big), 413)
                assert_error(self, self.post(path, b'{"%s":"x"}' % field.encode(), "text/plain"), 415)
        self.assert_programs_alive()

    def test_hostile_requests_through_nginx_never_reach_the_fastcgi_abort(self):
        # nginx writes the FastCGI records itself, its header buffers bound
        # every parameter (8 KiB): no request through it can carry the
        # lengths that abort libfcgi (FIELD-NOTES). Whatever the request,
        # no program dies.
        bearer = b"Authorization: Bearer " + self.token.encode() + b"\r\n"
        requests = [
            b"GET /api/messages?wait=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"A" * 8100 + b"\r\n\r\n",
            b"GET /api/messages?wait=0 HTTP/1.1\r\nHost: x\r\nCookie: " + b"c=" + b"x" * 8100 + b"\r\n\r\n",
            b"GET /api/messages?" + b"a=1&" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/messages?wait=0 HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200)
                                                                      for i in range(150)) + b"\r\n",
            b"POST /api/messages HTTP/1.1\r\nHost: x\r\n" + bearer + b"Content-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(b"1\r\n%c\r\n" % c for c in b'{"text":"x"}') + b"0\r\n\r\n",
            b"POST /api/messages HTTP/1.1\r\nHost: x\r\n" + bearer + b"Content-Type: application/json\r\n"
            b"Content-Length: 99999999999999999999\r\n\r\n{}",
            b"POST /api/messages HTTP/1.1\r\nHost: x\r\n" + bearer + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            b"GET /api/agent/../messages?wait=0 HTTP/1.1\r\nHost: x\r\n" + bearer + b"\r\n",
            b"GET /api/%6Dessages?wait=0 HTTP/1.1\r\nHost: x\r\n" + bearer + b"\r\n",
            b"GET /api/messages%00?wait=0 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/messages?wait=0%00 HTTP/1.1\r\nHost: x\r\n" + bearer + b"\r\n",
            b"PROPFIND /api/messages HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Abri-CSRF: " + bytes(range(0x80, 0x100)) + b"\r\n\r\n",
            b"GET /api/agent/me HTTP/1.1\r\nHost: x\r\nCookie: abri_agent=" + b"\xff" * 43 + b"\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello
        ]
        for raw in requests:
            with self.subTest(request=raw[:50]):
                status, headers, _ = raw_http(self.stack, raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1),
                                              timeout=5)
                self.assertNotIn(status, (500, 502), raw[:60])
        self.assert_programs_alive()
        # And the stack still works.
        self.assertEqual(self.stack.request("GET", "/api/messages?wait=0", token=self.token)[0], 200)


def nginx_answer(stack, raw):
    """A raw request through the stack's nginx, as (status, JSON body or
    the bytes, headers) for assert_error."""
    status, headers, body = raw_http(stack, raw)
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = body
    return status, decoded, {name.title(): value for name, value in headers.items()}


def request(line, *headers, body=b""):
    """A request as raw bytes: its line, its headers, Connection: close."""
    return line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"Connection: close\r\n\r\n" + body


HOST = b"Host: x"


class NginxOwnErrors(StackCase):
    """What nginx refuses before any program sees the request is refused in
    the contract's JSON shape too, never with nginx's HTML page
    (deploy/nginx/abri-locations.conf.in)."""

    def assert_json_error(self, raw, status, code):
        answer = nginx_answer(self.stack, raw)
        assert_error(self, answer, status, code)
        self.assertEqual(answer[2].get("Cache-Control"), "no-store", answer)

    def test_a_header_or_cookie_too_large_for_nginx_is_a_json_400(self):
        # Over large_client_header_buffers (8 KiB): nginx's status 494.
        for header in (b"Cookie: c=" + b"A" * 9000, b"Authorization: Bearer " + b"A" * 9000, b"A" * 9000):
            for path in (b"/api/messages", b"/"):
                with self.subTest(path=path, header=header[:20]):
                    self.assert_json_error(request(b"GET " + path + b" HTTP/1.1", HOST, header),
                                           400, "header_too_large")
        many = [b"X-H%d: %s" % (i, b"v" * 1000) for i in range(40)]
        self.assert_json_error(request(b"GET /api/health HTTP/1.1", HOST, *many), 400, "header_too_large")

    def test_a_uri_too_long_for_nginx_is_a_json_414(self):
        for line in (b"GET /api/messages?" + b"a" * 9000 + b" HTTP/1.1", b"GET /" + b"a" * 9000 + b" HTTP/1.1"):
            with self.subTest(line=line[:20]):
                self.assert_json_error(request(line, HOST), 414, "uri_too_long")

    def test_a_request_line_nginx_cannot_parse_is_a_json_400(self):
        # Refused before nginx has a URI, where its named locations do not
        # apply: these go through the internal /_abri/error/400.
        for line in (b"GET\x01/ HTTP/1.1", b"G@T / HTTP/1.1", b"get /api/health HTTP/1.1", b"hello world",
                     b"GET /api/ health HTTP/1.1", b"GET /../../etc/passwd HTTP/1.1", b"GET /%zz HTTP/1.1",
                     b"GET /api/health HTTP/1.99999", b"CONNECT x:443 HTTP/1.1", b"OPTIONS * HTTP/1.1"):
            with self.subTest(line=line):
                self.assert_json_error(request(line, HOST), 400, "bad_request")

    def test_headers_nginx_refuses_are_a_json_400(self):
        post = b"POST /api/messages HTTP/1.1"
        for line, headers, body in (
                (b"GET /api/health HTTP/1.1", [], b""),                      # no Host
                (b"GET /api/health HTTP/1.1", [HOST, b"Host: y"], b""),
                (b"GET /api/health HTTP/1.1", [b"Host: a/b"], b""),
                (b"GET /api/health HTTP/1.1", [HOST, b"X Y: 1"], b""),
                (b"GET /api/health HTTP/1.1", [HOST, b"X-Y: a\x00b"], b""),
                (post, [HOST, b"Content-Length: abc"], b""),
                (post, [HOST, b"Content-Length: 2", b"Content-Length: 3"], b"{}"),
                (post, [HOST, b"Content-Length: 2", b"Transfer-Encoding: chunked"], b"0\r\n\r\n"),
                (b"POST /api/messages HTTP/1.0", [HOST, b"Transfer-Encoding: chunked"], b"0\r\n\r\n"),
                (post, [HOST, b"Content-Type: application/json", b"Transfer-Encoding: chunked"], b"zz\r\n")):
            with self.subTest(headers=headers):
                self.assert_json_error(request(line, *headers, body=body), 400, "bad_request")

    def test_an_http_version_nginx_does_not_speak_is_a_json_505(self):
        for version in (b"HTTP/2.0", b"HTTP/3.1"):
            with self.subTest(version=version):
                self.assert_json_error(request(b"GET /api/health " + version, HOST), 505,
                                       "http_version_not_supported")

    def test_an_unknown_transfer_encoding_is_a_json_501(self):
        self.assert_json_error(request(b"POST /api/messages HTTP/1.1", HOST, b"Transfer-Encoding: gzip"),
                               501, "not_implemented")

    def test_a_directory_without_an_index_is_a_json_403(self):
        for path in (b"/js/", b"/css/"):
            with self.subTest(path=path):
                self.assert_json_error(request(b"GET " + path + b" HTTP/1.1", HOST), 403, "forbidden")

    def test_preconditions_and_ranges_nginx_refuses_on_a_page_are_json_412_and_416(self):
        # The page's own type (text/html) must not stick to the answer.
        page = b"GET /index.html HTTP/1.1"
        self.assert_json_error(request(page, HOST, b'If-Match: "nope"'), 412, "precondition_failed")
        self.assert_json_error(request(page, HOST, b"If-Unmodified-Since: Mon, 01 Jan 1990 00:00:00 GMT"),
                               412, "precondition_failed")
        self.assert_json_error(request(page, HOST, b"Range: bytes=999999-"), 416, "range_not_satisfiable")

    def test_a_post_to_a_page_is_a_json_405_not_typed_as_html(self):
        self.assert_json_error(request(b"POST /index.html HTTP/1.1", HOST, b"Content-Length: 0"),
                               405, "method_not_allowed")

    def test_the_internal_error_uris_are_a_json_404_from_outside(self):
        for method in (b"GET", b"POST"):
            with self.subTest(method=method):
                self.assert_json_error(request(method + b" /_abri/error/400 HTTP/1.1", HOST, b"Content-Length: 0"),
                                       404, "not_found")


if __name__ == "__main__":
    unittest.main()


class HostileText(StackCase):
    """Texts that would mislead whoever reads them later: terminal escapes
    (C1 CSI, OSC) that clear or retitle the terminal showing an export,
    right-to-left overrides that reverse a line of a report, separators
    some readers break on, and padding that makes 16,000 characters pass
    for 2,000. Each costs the attacker one request and is refused whole:
    nothing of it is stored."""

    REFUSED = {
        "C1 CSI clears a terminal": "avant \u009b2J après",
        "OSC retitles a terminal": "\u009d0;faux titre\u0007",
        "ESC sequence": "\u001b[31mrouge",
        "carriage return rewrites a line": "vrai\rfaux",
        "right-to-left override": "payé \u202e0001 €",
        "left-to-right isolate": "\u2066x\u2069",
        "line separator": "une\u2028deux",
        "padding past 2000 characters as sent": "A" * 2000 + " " * 14000,
        "only spaces of other scripts": "\u00a0\u3000\u2003",
    }

    def test_misleading_texts_are_refused_from_visitors_and_operators(self):
        visitor = self.stack.open_session()
        operator = Operator(self.stack)
        operator.poll()
        self.assertEqual(operator.claim(visitor["session"])[0], 200)
        for name, text in self.REFUSED.items():
            with self.subTest(name):
                sent = self.stack.request("POST", "/api/messages", {"text": text}, token=visitor["token"])
                assert_error(self, sent, 400, "invalid_text")
                assert_error(self, operator.say(visitor["session"], text), 400, "invalid_text")
        stored = [m["text"] for m in self.stack.every_message(visitor["token"]) if m["from"] != "system"]
        self.assertEqual(stored, [])

    def test_right_to_left_text_and_2000_characters_are_accepted(self):
        token = self.stack.open_session()["token"]
        for text in ("مرحبا، أحتاج مساعدة", "é" * 2000, "ligne\n\tsuite"):
            status, body, _ = self.stack.request("POST", "/api/messages", {"text": text}, token=token)
            self.assertEqual(status, 201, body)


class SendFlood(StackCase):
    """One session sending as fast as it can: a burst (ABRI_SEND_BURST,
    20), then one a second, each refusal a 429 that says what to do. The
    attacker's 10,000 sends in 5 s become 20 stored messages; the person
    in the next session sends as usual."""

    def test_a_session_sending_in_a_loop_is_held_to_its_rate(self):
        flooder = self.stack.open_session()["token"]
        person = self.stack.open_session()["token"]
        started = time.monotonic()
        statuses = [self.stack.request("POST", "/api/messages", {"text": "spam %d" % i}, token=flooder)[0]
                    for i in range(60)]
        seconds = time.monotonic() - started
        # The burst, plus one for each second the loop took.
        self.assertEqual(statuses[:20], [201] * 20)
        self.assertLessEqual(statuses.count(201), 20 + int(seconds) + 1, statuses)
        self.assertEqual(set(statuses) - {201}, {429})
        sent = self.stack.request("POST", "/api/messages", {"text": "x"}, token=flooder)
        assert_error(self, sent, 429, "too_many_messages")
        status, body, _ = self.stack.request("POST", "/api/messages", {"text": "Bonjour"}, token=person)
        self.assertEqual(status, 201, body)
        # A second later, one more goes through: a person is slowed, not cut off.
        deadline = time.monotonic() + 5
        while self.stack.request("POST", "/api/messages", {"text": "encore"}, token=flooder)[0] != 201:
            self.assertLess(time.monotonic(), deadline, "the rate never let a send through again")
            time.sleep(0.2)
