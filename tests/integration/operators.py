"""The operators' side of a test stack: an account made with abrictl, and
one logged-in browser calling the operators' API.

    add_operator(stack, "alice", "PP-75")
    alice = Operator(stack, "alice")
    status, body, headers = alice.claim(session)

Operator(stack) with no name logs the demo operator in (stack.sh --demo).
"""

PASSWORD = "un mot de passe assez long"  # every account add_operator makes


def add_operator(stack, username, *units):
    args = ["agent", "add", username]
    for unit in units:
        args += ["--unit", unit]
    status, out, err = stack.ctl(*args, stdin=PASSWORD + "\n")
    if status != 0:
        raise AssertionError("abrictl agent add: %s %s" % (out, err))


class Operator:
    """One logged-in browser of an operator: its cookie, its CSRF value and
    the cursor of its events long-poll. Every call returns what
    Stack.request returns: (status, body, headers)."""

    def __init__(self, stack, username=None, password=PASSWORD):
        if username is None:
            username, password = stack.demo_operator()
        self.stack = stack
        self.username = username
        self.cursor = None
        status, body, headers = stack.request("POST", "/api/agent/login",
                                              {"username": username, "password": password})
        if status != 200:
            raise AssertionError("login of %s: %d %r" % (username, status, body))
        self.login_body = body
        self.set_cookie = headers["Set-Cookie"]
        self.cookie = self.set_cookie.split(";")[0]
        self.csrf = body["csrf"]

    def headers(self, csrf=True, cookie=True):
        h = {}
        if cookie:
            h["Cookie"] = self.cookie
        if csrf:
            h["X-Abri-CSRF"] = self.csrf
        return h

    def call(self, method, path, body=None, csrf=True, cookie=True):
        return self.stack.request(method, path, body, headers=self.headers(csrf, cookie))

    def events(self, after=None, wait=0):
        query = "?wait=%d" % wait if after is None else "?after=%d&wait=%d" % (after, wait)
        return self.call("GET", "/api/agent/events" + query, csrf=False)

    def poll(self, wait=0):
        """Follows the long-poll: returns the answer and keeps its cursor."""
        status, body, _ = self.events(self.cursor, wait)
        if status != 200:
            raise AssertionError("events: %d %r" % (status, body))
        self.cursor = body["cursor"]
        return body

    def session_call(self, action, session, body=None, csrf=True, method="POST"):
        return self.call(method, "/api/agent/sessions/%s/%s" % (session, action), body, csrf=csrf)

    def claim(self, session):
        return self.session_call("claim", session)

    def say(self, session, text):
        return self.session_call("messages", session, {"text": text})

    def transfer(self, session, unit):
        return self.session_call("transfer", session, {"unit": unit})

    def close(self, session):
        return self.session_call("close", session)

    def export(self, session):
        return self.session_call("export", session, method="GET", csrf=False)
