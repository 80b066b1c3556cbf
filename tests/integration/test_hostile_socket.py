"""The FastCGI sockets. Debian's libfcgi aborts the whole process on a
crafted PARAMS record (FIELD-NOTES): only nginx may reach the sockets.
Proven here: their modes and owners in `make run` (stack.sh) and in the
systemd units; a user outside nginx's group is refused by the kernel
before a byte reaches the program; the record does abort a program that
receives it (so the permissions matter), and stack.sh starts it again."""
import grp
import os
import pwd
import re
import socket
import stat
import struct
import subprocess
import sys
import unittest

from hostile import pid, pids, restarted, wait_for
from stack import ROOT, Stack

PROGRAMS = ("session", "messages", "agent", "admin")


def record(kind, content, request_id=1):
    """One FastCGI record: version 1, type, request id, content, no padding."""
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


# BEGIN_REQUEST (responder), then PARAMS whose name and value lengths are
# both 0x7ffffffe: libfcgi adds them (+2) in an int and aborts.
CRAFTED = (record(1, struct.pack(">HB5x", 1, 0))
           + record(4, b"\xff\xff\xff\xfe\xff\xff\xff\xfe" + b"AAAAAAAA"))

SEND_AS = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("refused"); sys.exit(0)
s.sendall(bytes.fromhex(sys.argv[2])); s.close(); print("sent")
"""


def can_switch_user():
    try:
        grp.getgrnam("www-data")
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return os.geteuid() == 0 and subprocess.run(["setpriv", "--version"], capture_output=True).returncode == 0


def run_as(user, group, socket_path, payload=b""):
    """Connects to the socket as `user` and sends `payload`; "refused" or "sent"."""
    done = subprocess.run(["setpriv", "--reuid", user, "--regid", group, "--init-groups",
                           sys.executable, "-c", SEND_AS, socket_path, payload.hex()],
                          capture_output=True, text=True, timeout=10, cwd="/")
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    return done.stdout.strip()


@unittest.skipUnless(can_switch_user(), "needs root (to switch users), setpriv, www-data and nobody")
class FastCgiSockets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Built with SANITIZE=1, the programs would report libfcgi's huge
        # malloc as an ASan error before aborting: let it fail as it does
        # in production (NULL, then libfcgi's assert), with ASan's warning
        # in this stack's own log rather than among the reports CI counts
        # (.ci/run); tearDownClass looks there for anything else.
        asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "allocator_may_return_null=1",
                                      "log_path=stderr"]))
        ubsan = ":".join(filter(None, [os.environ.get("UBSAN_OPTIONS"), "log_path=stderr"]))
        cls.stack = Stack(env={"ASAN_OPTIONS": asan, "UBSAN_OPTIONS": ubsan}).start()
        cls.run_dir = os.path.join(cls.stack.prefix, "run")

    @classmethod
    def tearDownClass(cls):
        log = cls.stack.read_log()
        cls.stack.stop()
        for report in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if report in log:
                raise AssertionError("a sanitizer report in the programs' log:\n" + log[-5000:])

    def sock(self, name):
        return os.path.join(self.run_dir, name + ".sock")

    def test_sockets_are_0660_group_www_data_in_a_setgid_directory(self):
        www = grp.getgrnam("www-data").gr_gid
        directory = os.stat(self.run_dir)
        self.assertEqual(stat.S_IMODE(directory.st_mode), 0o2750)
        self.assertEqual(directory.st_gid, www)
        for name in PROGRAMS:
            with self.subTest(program=name):
                st = os.stat(self.sock(name))
                self.assertTrue(stat.S_ISSOCK(st.st_mode))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
                self.assertEqual(st.st_gid, www)
                self.assertEqual(st.st_uid, os.geteuid())  # the program's own user

    def test_nothing_listens_on_tcp_but_nginx(self):
        # A FastCGI program bound to TCP would be reachable by every local
        # user: none of them has a TCP socket.
        for name in PROGRAMS:
            for number in pids(self.stack, name):
                fds = os.listdir("/proc/%d/fd" % number)
                inodes = {os.readlink("/proc/%d/fd/%s" % (number, fd)) for fd in fds
                          if os.path.exists("/proc/%d/fd/%s" % (number, fd))}
                with open("/proc/net/tcp") as f4, open("/proc/net/tcp6") as f6:
                    listening = {"socket:[%s]" % line.split()[9] for line in (f4.read() + f6.read()).splitlines()[1:]
                                 if line.split()[3] == "0A"}
                self.assertFalse(inodes & listening, name)

    def test_a_crafted_params_record_from_another_user_is_refused_by_permissions(self):
        before = {name: pid(self.stack, name) for name in PROGRAMS}
        for user, group in (("nobody", "nogroup"),):
            for name in PROGRAMS:
                with self.subTest(user=user, program=name):
                    self.assertEqual(run_as(user, group, self.sock(name), CRAFTED), "refused")
        # Nothing reached them: the same processes answer.
        self.assertEqual({name: pid(self.stack, name) for name in PROGRAMS}, before)
        self.assertEqual(self.stack.request("GET", "/api/health")[0], 200)

    def test_nginx_user_can_reach_the_socket(self):
        # The other side of the same permission: www-data (nginx's workers)
        # connects. An empty connection is dropped by libfcgi, harmlessly.
        before = pid(self.stack, "session")
        self.assertEqual(run_as("www-data", "www-data", self.sock("session")), "sent")
        self.assertEqual(self.stack.request("GET", "/api/health")[0], 200)
        self.assertEqual(pid(self.stack, "session"), before)

    def test_the_crafted_record_aborts_libfcgi_and_stack_sh_restarts_the_program(self):
        # What the permissions protect against, as the socket's owner would
        # send it: the whole program dies (every request in it), and the
        # supervisor starts it again.
        old = pid(self.stack, "messages")
        token = self.stack.open_session()["token"]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.sock("messages"))
            s.sendall(CRAFTED)
            s.settimeout(10)
            try:
                s.recv(100)
            except (ConnectionResetError, socket.timeout):
                pass
        new = restarted(self.stack, "messages", old, timeout=20)
        self.assertTrue(new, "messages was not started again:\n" + self.stack.read_log())
        self.assertRegex(self.stack.read_log(), r"messages stopped \(status \d+\); starting it again")
        self.assertFalse(os.path.exists("/proc/%d" % old) and pids(self.stack, "messages").count(old))
        # The service answers again (once the new process listens: slower
        # with sanitizers), and the session opened before is intact.
        self.assertTrue(wait_for(lambda: self.stack.request("GET", "/api/messages?wait=0", token=token)[0] == 200,
                                 timeout=30, step=0.2))


class DeployedSockets(unittest.TestCase):
    """The same guarantees in production: systemd owns the sockets."""

    def unit(self, name):
        with open(os.path.join(ROOT, "deploy", "systemd", name)) as f:
            return f.read()

    def setting(self, text, key):
        found = re.findall(r"^%s=(.*)$" % key, text, re.M)
        return found[-1].strip() if found else None

    def test_socket_units_are_0660_owned_by_the_service_group_abri_web_and_never_tcp(self):
        # abri-web, not www-data: on Debian PHP-FPM and fcgiwrap run as
        # www-data, and anything in the group can abort libfcgi (issue 13).
        for name in ("abri@.socket.in", "abri-cgi.socket.in"):
            with self.subTest(unit=name):
                text = self.unit(name)
                self.assertEqual(self.setting(text, "SocketMode"), "0660")
                self.assertEqual(self.setting(text, "SocketGroup"), "abri-web")
                self.assertEqual(self.setting(text, "SocketUser"), "abri")
                listen = re.findall(r"^ListenStream=(.*)$", text, re.M)
                self.assertTrue(listen)
                self.assertTrue(all(value.strip().startswith("@") or value.strip().startswith("/")
                                    for value in listen), listen)

    def test_abri_web_has_nginx_user_as_its_only_member(self):
        text = self.unit("abri.sysusers.conf.in")
        self.assertEqual(re.findall(r"^m (\S+) (\S+)$", text, re.M), [("@NGINX_USER@", "abri-web")])
        self.assertRegex(text, r"(?m)^g abri-web -$")

    def test_services_are_restarted_after_an_abort_without_a_start_limit(self):
        text = self.unit("abri@.service.in")
        self.assertIn(self.setting(text, "Restart"), ("on-failure", "on-abnormal", "always"))
        self.assertEqual(self.setting(text, "StartLimitIntervalSec"), "0")
        self.assertEqual(self.setting(text, "StandardInput"), "socket")


if __name__ == "__main__":
    unittest.main()
