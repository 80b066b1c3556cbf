"""What the hostile tests (test_hostile_*.py) share: the contract's error
shape, the programs' process ids and the requests they hold, raw HTTP, and small filesystems to fill
or break under a stack's database. (Operators: operators.py.)"""
import contextlib
import os
import socket
import subprocess
import time


def assert_error(test, answer, status, code=None):
    """The contract's one error shape, and nothing more: no data leaks out
    of a refused call."""
    got, body, headers = answer
    if isinstance(status, int):
        status = (status,)
    test.assertIn(got, status, body)
    test.assertTrue(headers.get("Content-Type", "").startswith("application/json"), (got, headers, body))
    test.assertIsInstance(body, dict, body)
    test.assertEqual(set(body), {"error"}, body)
    # Beside code and message, only the fields a page acts on (docs/api.md).
    test.assertTrue({"code", "message"} <= set(body["error"]) <= {"code", "message", "reason", "work"}, body)
    test.assertTrue(body["error"]["message"])
    if code:
        test.assertEqual(body["error"]["code"], code, body)
    test.assertNotIn("Set-Cookie", headers)


def pids(stack, name):
    """Process ids of the FastCGI program `name` of this stack."""
    needle = ("%s/run/%s.sock" % (stack.prefix, name)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if needle in args and os.path.basename(args[0].decode(errors="replace")) == name:
            found.append(int(entry))
    return found


def pid(stack, name):
    found = pids(stack, name)
    if len(found) != 1:
        raise AssertionError("expected one %s process, found %r" % (name, found))
    return found[0]


def wait_for(predicate, timeout=15, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def connections(process_id):
    """The sockets a program holds: its listening one, and one per request
    it holds from nginx (queued, running or parked: fastcgi_keep_conn is
    off, each request comes on a connection of its own)."""
    fds = "/proc/%d/fd" % process_id
    held = 0
    for fd in os.listdir(fds):
        try:
            held += os.readlink(os.path.join(fds, fd)).startswith("socket:")
        except FileNotFoundError:  # closed meanwhile
            pass
    return held


class Held:
    """The requests the program `name` of a stack holds beyond those it
    held when made: how a test knows its long poll is parked, without
    sleeping "long enough"."""

    def __init__(self, stack, name):
        self.process = pid(stack, name)
        self.before = connections(self.process)

    def reach(self, count, timeout=15):
        """True once the program holds `count` more requests."""
        return wait_for(lambda: connections(self.process) >= self.before + count, timeout)


def restarted(stack, name, old_pid, timeout=15):
    """The new process id once stack.sh has started `name` again and it answers."""
    def new_pid():
        found = pids(stack, name)
        return found[0] if len(found) == 1 and found[0] != old_pid else None
    return wait_for(new_pid, timeout)


def open_fds(process_id):
    return len(os.listdir("/proc/%d/fd" % process_id))


def raw_http(stack, data, timeout=10):
    """Sends bytes as they are; returns (status, headers dict, body bytes)."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


@contextlib.contextmanager
def filesystem_under_database(stack, kind, size_mb):
    """Mounts a small filesystem where the stack's database will live
    (before start): "tmpfs" (to fill) or "ext4" on a loop file (to turn
    read-only). Yields the mount point, or None when mounting is not
    possible here (not root, no loop device): the caller skips."""
    directory = os.path.dirname(stack.db)
    os.makedirs(directory, exist_ok=True)
    image = os.path.join(stack.dir, "fs.img")
    if kind == "tmpfs":
        command = ["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % size_mb, "tmpfs", directory]
    else:
        with open(image, "wb") as f:
            f.truncate(size_mb * 1024 * 1024)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", image], capture_output=True)
        if made.returncode != 0:
            yield None
            return
        command = ["mount", "-o", "loop,errors=remount-ro", image, directory]
    if os.geteuid() != 0 or subprocess.run(command, capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield directory
    finally:
        stack.stop_processes()
        subprocess.run(["umount", "-l", directory], capture_output=True)


def integrity(db_path):
    import sqlite3
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as db:
        return db.execute("PRAGMA integrity_check").fetchall()


__all__ = ["assert_error", "pids", "pid", "connections", "Held", "restarted", "wait_for", "open_fds", "raw_http",
           "filesystem_under_database", "integrity"]
