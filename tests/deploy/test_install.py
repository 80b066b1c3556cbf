#!/usr/bin/env python3
"""The deployment kit, end to end (issue 6).

`make install DESTDIR=<tmp>`, then the installed files run as they would
on a server, only moved under <tmp>: nginx with Debian's stock main
configuration and the shipped site file (TLS with a throw-away
certificate, on free loopback ports instead of 443 and 80), the installed
FastCGI programs on unix sockets, a database made by the installed
abrictl. Checks the victims' flow over HTTPS, nginx's own errors, and that
the logs written meanwhile hold no client address, no token and no chat
text. Also runs `systemd-analyze verify` and `security --offline=true` on
the installed units where systemd-analyze exists.

Run: python3 -m unittest tests/deploy/test_install.py (from the project
root, after `make`). Needs nginx and openssl.
"""
import concurrent.futures
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PROGRAMS = ('session', 'messages', 'agent')
MAX_EXPOSURE = 2.0  # issue 6: every service unit rated 2.0 or better

# Where `make install` puts things by default (deploy/install.mk).
LIBEXEC = '/usr/lib/abri'
SBIN = '/usr/local/sbin'
DATA = '/usr/local/share/abri'
RUN = '/run/abri'
ADMIN = '/run/abri-admin'
STATE = '/var/lib/abri'
NGINX_LOG = '/var/log/nginx'
SITE = '/etc/nginx/sites-available/abri'
UNITDIR = '/etc/systemd/system'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def read(path):
    with open(path, errors='replace') as f:
        return f.read()


def read_until_closed(sock):
    """Every byte the server sends until it closes (or resets) the connection."""
    answer = b''
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return answer
        if not chunk:
            return answer
        answer += chunk


def wait_for(predicate, timeout=10.0, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError('timed out waiting for ' + what)


def held_by(program):
    """What the processes running `program` hold: one for each process and
    one for each socket it has open. A long poll adds one: its connection
    in the FastCGI program, or the CGI process fcgiwrap started for it."""
    held = 0
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            if os.readlink('/proc/%s/exe' % entry) != program:
                continue
            fds = '/proc/%s/fd' % entry
            held += 1 + sum(os.readlink(os.path.join(fds, fd)).startswith('socket:') for fd in os.listdir(fds))
        except OSError:  # gone meanwhile
            continue
    return held


# ----- what systemd would impose, without systemd --------------------------
# The units' SystemCallFilter=@system-service ~@privileged @resources and
# SystemCallErrorNumber=EPERM, NoNewPrivileges=yes, MemoryDenyWriteExecute=yes,
# User=, UMask=0077 and PrivateNetwork=yes, applied by hand to the installed programs so that a
# program that needs more than the units allow fails here, not in production.

def syscall_sets():
    """systemd's filter sets, {"@name": {members}}, from one listing."""
    out = subprocess.run(['systemd-analyze', 'syscall-filter'], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    sets, current = {}, None
    for line in out.splitlines():
        if line.startswith('@'):
            current = sets.setdefault(line.strip(), set())
        elif current is not None and line.strip() and not line.strip().startswith('#'):
            current.add(line.strip())
    return sets


def syscall_set(sets, name):
    """The system calls of one set, nested sets expanded."""
    calls = set()
    for member in sets.get(name, ()):
        calls |= syscall_set(sets, member) if member.startswith('@') else {member}
    return calls


def seccomp_filter():
    """A BPF program allowing what the units allow, EPERM for the rest; None
    where this cannot be built (not x86-64, no systemd-analyze, no headers)."""
    header = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h'
    if os.uname().machine != 'x86_64' or not shutil.which('systemd-analyze') \
            or not os.path.exists(header):
        return None
    numbers = dict(re.findall(r'#define __NR_(\w+) (\d+)', read(header)))
    sets = syscall_sets()
    allowed = syscall_set(sets, '@system-service') - syscall_set(sets, '@privileged') \
        - syscall_set(sets, '@resources')
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7fff0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO|EPERM
    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, 0xc000003e), (ret, 0, 0, deny),  # arch x86-64
            (ld_abs, 0, 0, 0), (jge, 0, 1, 0x40000000), (ret, 0, 0, deny)]  # no x32
    for nr in sorted(int(numbers[c]) for c in allowed if c in numbers):
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, allow)]
    prog.append((ret, 0, 0, deny))
    return prog


def sandbox(uid, gid, no_network, bpf):
    """preexec_fn: the service's restrictions, in the order systemd applies them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    class Filter(ctypes.Structure):
        _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8),
                    ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(Filter))]

    filters = (Filter * len(bpf))(*bpf) if bpf else None

    def apply():
        if no_network and libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNET)')
        if uid is not None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        os.umask(0o077)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), 'PR_SET_NO_NEW_PRIVS')
        # MemoryDenyWriteExecute=yes: PR_SET_MDWE, REFUSE_EXEC_GAIN (Linux >= 6.3;
        # older kernels answer EINVAL and go without).
        if libc.prctl(65, 1, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            raise OSError(ctypes.get_errno(), 'PR_SET_MDWE')
        if filters is not None:
            prog = Prog(len(bpf), filters)
            if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
                raise OSError(ctypes.get_errno(), 'PR_SET_SECCOMP')
    return apply


class Installed(unittest.TestCase):
    """One installation, one nginx, one set of programs for every test."""

    CGI = False  # the plain-CGI alternative: fcgiwrap instead of the programs' sockets

    @classmethod
    def setUpClass(cls):
        unwritten = [n for n in PROGRAMS + ('admin', 'purge', 'abrictl')
                     if not os.path.exists(os.path.join(ROOT, 'cgi', n + '.cpp'))]
        if unwritten:  # a program still to be written, not one that fails to build
            raise unittest.SkipTest('not written yet: ' + ', '.join('cgi/%s.cpp' % n for n in unwritten))
        cls.tmp = tempfile.mkdtemp(prefix='abri-install-')
        cls.dest = os.path.join(cls.tmp, 'root')
        cls.procs = []
        cls.logs = []  # files whose content must stay free of secrets
        try:
            cls._install()
            cls._make_certificate()
            cls._start_programs()
            cls._write_nginx_conf()
            cls._start_nginx()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.procs):
            try:  # the whole group: fcgiwrap's children too
                os.killpg(p.pid, signal.SIGTERM if p.args[0] != 'nginx' else signal.SIGQUIT)
            except ProcessLookupError:
                pass
        for p in cls.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.environ.get('ABRI_KEEP_TMP'):
            print('kept', cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ----- setting up -------------------------------------------------------

    @classmethod
    def _install(cls):
        run = subprocess.run(['make', '--no-print-directory', '-C', ROOT, 'install',
                              'DESTDIR=' + cls.dest],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0:
            raise AssertionError('make install failed:\n' + run.stdout)
        cls.install_output = run.stdout

    @classmethod
    def at(cls, path):
        """The installed copy of an absolute path."""
        return cls.dest + path

    @classmethod
    def _make_certificate(cls):
        cls.cert = os.path.join(cls.tmp, 'cert.pem')
        cls.key = os.path.join(cls.tmp, 'key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
                        '-subj', '/CN=localhost',
                        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                        '-keyout', cls.key, '-out', cls.cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @classmethod
    def _spawn(cls, name, argv, env=None, stdin=subprocess.DEVNULL, preexec_fn=None):
        out = os.path.join(cls.tmp, 'out', name + '.log')
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cls.logs.append(out)
        with open(out, 'ab') as f:
            p = subprocess.Popen(argv, stdin=stdin, stdout=f, stderr=f, env=env,
                                 start_new_session=True, preexec_fn=preexec_fn)
        cls.procs.append(p)
        return p

    @classmethod
    def _service_user(cls):
        """As root: `nobody` stands for the user abri, owning the database
        directory and the programs' socket directory as abri would."""
        cls.uid = cls.gid = None
        if os.geteuid() != 0:
            return
        nobody = pwd.getpwnam('nobody')
        cls.uid, cls.gid = nobody.pw_uid, nobody.pw_gid
        os.chmod(cls.tmp, 0o711)
        os.makedirs(cls.at(RUN), exist_ok=True)
        for d in (cls.at(STATE), cls.at(RUN)):
            os.chown(d, cls.uid, cls.gid)

    @classmethod
    def _start_programs(cls):
        cls.db = cls.at(STATE + '/abri.db')
        # The program behind the command: /usr/local/sbin/abrictl names the
        # real /etc/abri and /usr/lib/abri (test_installed_abrictl_*).
        abrictl = cls.at(LIBEXEC + '/abrictl')
        cls._service_user()
        as_user = sandbox(cls.uid, cls.gid, no_network=False, bpf=None)
        confined = sandbox(cls.uid, cls.gid, no_network=cls.uid is not None, bpf=seccomp_filter())
        for argv, stdin in ((['init'], ''),
                            (['unit', 'add', '75PP', '--name', 'Commissariat de test',
                              '--kind', 'police'], ''),
                            (['route', 'default', '75PP'], ''),
                            (['agent', 'add', 'dupont', '--unit', '75PP'],
                             'un mot de passe de test assez long\n')):
            run = subprocess.run([abrictl, '--db', cls.db] + argv, input=stdin, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env=cls._env(), preexec_fn=as_user)
            if run.returncode != 0:
                raise AssertionError('abrictl %s failed:\n%s' % (' '.join(argv), run.stdout))
        os.makedirs(cls.at(RUN), exist_ok=True)
        if cls.CGI:
            sock = cls.at(RUN + '/cgi.sock')
            argv = ['fcgiwrap', '-c', '8', '-s', 'unix:' + sock]
            for name in PROGRAMS + ('admin',):
                argv += ['-p', cls.at(LIBEXEC + '/' + name)]
            cls._spawn('fcgiwrap', argv, env=cls._env(), preexec_fn=confined)
            wait_for(lambda: os.path.exists(sock), what=sock)
            return
        # session makes its own socket (--socket); messages and agent get
        # theirs on standard input, listening, as abri@.socket hands it over.
        program = cls.at(LIBEXEC + '/session')
        cls._spawn('session', [program, '--socket', cls.at(RUN + '/session.sock'),
                               '--db', cls.db], env=cls._env(), preexec_fn=confined)
        for name in PROGRAMS[1:]:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(cls.at(RUN + '/' + name + '.sock'))
            os.chmod(cls.at(RUN + '/' + name + '.sock'), 0o660)
            listener.listen(128)
            cls._spawn(name, [cls.at(LIBEXEC + '/' + name)], env=cls._env(),
                       stdin=listener, preexec_fn=confined)
            listener.close()
        for name in PROGRAMS:
            sock = cls.at(RUN + '/' + name + '.sock')
            wait_for(lambda: os.path.exists(sock), what=sock)

    @classmethod
    def _env(cls):
        env = {k: v for k, v in os.environ.items() if not k.startswith('ABRI_')}
        env['ABRI_DB'] = cls.db
        return env

    @classmethod
    def _write_nginx_conf(cls):
        """Debian's /etc/nginx/nginx.conf, moved under the temporary root,
        with the installed site enabled the way docs/install.md says; every
        absolute path of the installed files is pointed into it."""
        cls.https_port = free_port()
        cls.http_port = free_port()
        prefix = cls.at('/etc/nginx')
        for d in ('sites-enabled', 'tmp'):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        # What systemd-tmpfiles makes at boot (abri.tmpfiles.conf).
        os.makedirs(cls.at(ADMIN), mode=0o700, exist_ok=True)
        os.makedirs(cls.at(NGINX_LOG), exist_ok=True)
        os.symlink('../sites-available/abri', os.path.join(prefix, 'sites-enabled', 'abri'))
        cls.site_text = read(cls.at(SITE))
        cls.locations_text = read(cls.at(DATA + '/nginx/abri-locations.conf'))
        variant = '-cgi' if cls.CGI else ''
        for path in (cls.at(SITE), cls.at(DATA + '/nginx/abri-http%s.conf' % variant),
                     cls.at(DATA + '/nginx/abri-locations%s.conf' % variant)):
            text = read(path)
            if cls.CGI:  # the two includes docs/install.md says to change
                text = re.sub(r'(include \S+/abri-(?:http|locations))\.conf;', r'\1-cgi.conf;', text)
            text = re.sub(r'ssl_certificate\s+\S+;', 'ssl_certificate %s;' % cls.cert, text)
            text = re.sub(r'ssl_certificate_key\s+\S+;', 'ssl_certificate_key %s;' % cls.key, text)
            text = re.sub(r'^\s*listen \[::\].*\n', '', text, flags=re.M)
            text = re.sub(r'listen 443 ', 'listen 127.0.0.1:%d ' % cls.https_port, text)
            text = re.sub(r'listen 80 ', 'listen 127.0.0.1:%d ' % cls.http_port, text)
            text = re.sub(r'(?<![\w/.$])(/(?:run|usr|var|etc)/[^\s;\'"]*)',
                          lambda m: cls.at(m.group(1)), text)
            with open(path, 'w') as f:
                f.write(text)
        log = cls.at(NGINX_LOG)
        user = 'user root root;' if os.geteuid() == 0 else ''
        conf = f'''# Debian 12's /etc/nginx/nginx.conf, under the test's root.
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
include {prefix}/modules-enabled/*.conf;
error_log {log}/error.log;
events {{ worker_connections 768; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {log}/access.log;
    gzip on;
    client_body_temp_path {prefix}/tmp/body;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/sites-enabled/*;
}}
'''
        cls.nginx_conf = os.path.join(prefix, 'nginx.conf')
        with open(cls.nginx_conf, 'w') as f:
            f.write(conf)
        cls.nginx_argv = ['nginx', '-p', prefix, '-c', cls.nginx_conf,
                          '-e', os.path.join(log, 'error.log')]

    @classmethod
    def _start_nginx(cls):
        cls._spawn('nginx', cls.nginx_argv)

        def up():
            try:
                socket.create_connection(('127.0.0.1', cls.https_port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(up, what='nginx on port %d' % cls.https_port)

    # ----- talking to it ----------------------------------------------------

    def tls(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def request(self, method, path, body=None, token=None, headers=None):
        conn = http.client.HTTPSConnection('127.0.0.1', self.https_port, context=self.tls(),
                                           timeout=40)
        h = dict(headers or {})
        if token:
            h['Authorization'] = 'Bearer ' + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault('Content-Type', 'application/json')
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r, data

    def admin_request(self, method, path):
        """A request to the administrator's nginx server, on its unix socket."""
        sock_path = self.at(ADMIN + '/admin.sock')

        class Connection(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(40)
                self.sock.connect(sock_path)
        conn = Connection('localhost')
        conn.request(method, path, body=b'{}', headers={'Content-Type': 'application/json'})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r, data

    def json_error(self, r, data, status, code):
        self.assertEqual(r.status, status, data)
        self.assertTrue(r.getheader('Content-Type', '').startswith('application/json'))
        self.assertEqual(json.loads(data)['error']['code'], code)

    def patiently(self, method, path, body):
        """A request to a rate-limited location, waiting out the limit that
        another test's burst left behind (5 r/s)."""
        deadline = time.monotonic() + 15
        while True:
            r, data = self.request(method, path, body)
            if r.status != 429 or time.monotonic() > deadline:
                return r, data
            time.sleep(0.5)

    def open_session(self):
        r, data = self.patiently('POST', '/api/session', {'postcode': '75011', 'role': 'victim'})
        self.assertEqual(r.status, 201, data)
        return json.loads(data)

    def raw_tls(self):
        s = socket.create_connection(('127.0.0.1', self.https_port), timeout=10)
        return self.tls().wrap_socket(s, server_hostname='127.0.0.1')

    # ----- what happens on the way -----------------------------------------

    def victims_flow(self, text):
        session = self.open_session()
        self.assertEqual(session['unit']['kind'], 'police')
        token = session['token']
        r, data = self.request('POST', '/api/messages', {'text': text}, token=token)
        self.assertEqual(r.status, 201, data)
        sent = json.loads(data)['id']
        r, data = self.request('GET', '/api/messages?after=0&wait=5', token=token)
        self.assertEqual(r.status, 200, data)
        self.assertEqual(r.getheader('Cache-Control'), 'no-store')
        got = json.loads(data)
        self.assertIn((sent, text), [(m['id'], m['text']) for m in got['messages']])
        return token, sent

    def provoke_404(self):
        return self.request('GET', '/no/such/page')

    def provoke_413(self, token):
        body = json.dumps({'text': 'x' * 20000}).encode()
        with self.raw_tls() as s:
            s.sendall(b'POST /api/messages HTTP/1.1\r\nHost: localhost\r\n'
                      b'Authorization: Bearer ' + token.encode() + b'\r\n'
                      b'Content-Type: application/json\r\nConnection: close\r\n'
                      b'Content-Length: ' + str(len(body)).encode() + b'\r\n\r\n')
            try:
                s.sendall(body)
            except OSError:
                pass  # nginx may answer and close before reading the body
            return read_until_closed(s)

    def provoke_429(self):
        """More POST /api/session than limit_req lets through (5 r/s, burst
        20), all at once so that however slow the programs (plain CGI under
        ASan) nginx counts them within a second; bodies invalid so that
        nothing is created."""
        def one(_):
            r, data = self.request('POST', '/api/session', '{"postcode": "x"}',
                                   headers={'Content-Type': 'application/json'})
            return r, data
        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(one, range(40)))
        statuses = [r.status for r, _ in answers]
        for r, data in answers:
            if r.status == 429:
                return r, data, statuses
        return None, None, statuses

    def abort_long_poll(self, token, after):
        program = os.path.realpath(self.at(LIBEXEC + '/messages'))
        before = held_by(program)
        with self.raw_tls() as s:
            s.sendall(('GET /api/messages?after=%d&wait=25 HTTP/1.1\r\nHost: localhost\r\n'
                       'Authorization: Bearer %s\r\n\r\n' % (after, token)).encode())
            # The visitor leaves once the program holds the poll.
            wait_for(lambda: held_by(program) > before, what='the long-poll held by messages')

    def access_log_lines(self):
        with open(self.at(NGINX_LOG + '/abri-access.log')) as f:
            return f.read().splitlines()

    # ----- the tests ----------------------------------------------------------

    def test_install_puts_files_where_the_docs_say(self):
        for path in [LIBEXEC + '/' + p for p in PROGRAMS + ('admin', 'purge', 'abrictl')] + [SBIN + '/abrictl']:
            self.assertTrue(os.access(self.at(path), os.X_OK), path)
        for path in (DATA + '/www/index.html', DATA + '/sql', DATA + '/nginx/abri-http.conf',
                     DATA + '/nginx/abri-fastcgi-params.conf', '/etc/abri/abri.env',
                     '/etc/cron.d/abri', UNITDIR + '/abri@.service', UNITDIR + '/abri@.socket',
                     UNITDIR + '/abri-purge.service', UNITDIR + '/abri-purge.timer',
                     '/etc/sysusers.d/abri.conf', '/etc/tmpfiles.d/abri.conf'):
            self.assertTrue(os.path.exists(self.at(path)), path)
        self.assertEqual(os.stat(self.at(STATE)).st_mode & 0o777, 0o700)
        with open(self.at('/etc/abri/abri.env')) as f:
            self.assertIn('ABRI_DB=' + STATE + '/abri.db\n', f.read())

    def test_installed_files_name_the_real_paths(self):
        self.assertIn('include ' + DATA + '/nginx/abri-locations.conf;', self.site_text)
        self.assertIn('unix:' + RUN + '/session.sock', self.locations_text)
        self.assertIn('root ' + DATA + '/www;', self.locations_text)
        for path in (UNITDIR + '/abri@.service', UNITDIR + '/abri@.socket', '/etc/cron.d/abri'):
            with open(self.at(path)) as f:
                text = f.read()
            self.assertNotRegex(text, r'@[A-Z_]+@', path)
            self.assertNotIn(self.dest, text, path)
        with open(self.at('/etc/cron.d/abri')) as f:
            jobs = [l for l in f if re.match(r'[*0-9]', l)]
        self.assertEqual(len(jobs), 1)
        self.assertRegex(jobs[0], r'^\*/5 \* \* \* \*\tabri\t.*' + LIBEXEC + '/purge')

    def test_a_second_install_keeps_the_administrators_files(self):
        dest = os.path.join(self.tmp, 'again')

        def install():
            run = subprocess.run(['make', '--no-print-directory', '-C', ROOT, 'install',
                                  'DESTDIR=' + dest],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(run.returncode, 0, run.stdout)
            return run.stdout
        install()
        env_file = dest + '/etc/abri/abri.env'
        with open(env_file, 'a') as f:
            f.write('ABRI_THREADS=8\n')
        cron_file = dest + '/etc/cron.d/abri'  # the timer chosen: docs/install.md, step 7
        subprocess.run(['sed', '-i', r's|^\*/5|#*/5|', cron_file], check=True)
        output = install()
        with open(env_file) as f:
            self.assertIn('ABRI_THREADS=8\n', f.read())
        self.assertEqual([l for l in read(cron_file).splitlines() if re.match(r'[*0-9]', l)], [])
        self.assertTrue(os.path.exists(env_file + '.dist'))
        self.assertIn('kept your /etc/abri/abri.env', output)
        self.assertFalse(os.path.exists(dest + SITE + '.dist'))  # unchanged: nothing to keep

    def test_sysusers_and_tmpfiles_make_the_user_and_its_directory(self):
        # What `make install` runs as root, here in a scratch root.
        if self.CGI or not (shutil.which('systemd-sysusers') and shutil.which('systemd-tmpfiles')):
            self.skipTest('checked once, where systemd-sysusers and systemd-tmpfiles exist')
        root = os.path.join(self.tmp, 'sysroot')
        os.makedirs(root + '/etc')
        for name in ('passwd', 'group', 'shadow', 'gshadow'):
            if os.path.exists('/etc/' + name):
                shutil.copy('/etc/' + name, root + '/etc/' + name)
        for tool, conf in (('systemd-sysusers', '/etc/sysusers.d/abri.conf'),
                           ('systemd-tmpfiles', '/etc/tmpfiles.d/abri.conf')):
            shutil.copytree(os.path.dirname(self.at(conf)), root + os.path.dirname(conf),
                            dirs_exist_ok=True)
            argv = [tool, '--root=' + root] + (['--create'] if tool == 'systemd-tmpfiles' else [])
            run = subprocess.run(argv + [root + conf], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            self.assertEqual(run.returncode, 0, run.stdout)
        users = [l.split(':') for l in read(root + '/etc/passwd').splitlines()]
        abri = [u for u in users if u[0] == 'abri']
        self.assertEqual(len(abri), 1, 'no user abri')
        self.assertEqual((abri[0][5], abri[0][6]), (STATE, '/usr/sbin/nologin'))
        st = os.stat(root + STATE)
        self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o700, int(abri[0][2])))
        # The sockets' group: abri's own, nginx's user its only member.
        groups = {g[0]: g for g in (l.split(':') for l in read(root + '/etc/group').splitlines())}
        self.assertIn('abri-web', groups)
        self.assertEqual(groups['abri-web'][3].split(','), ['www-data'])
        st = os.stat(root + ADMIN)
        self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o700, 0))

    def test_nginx_t_accepts_the_site(self):
        run = subprocess.run(self.nginx_argv + ['-t'], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        self.assertEqual(run.returncode, 0, run.stdout)
        self.assertIn('test is successful', run.stdout)

    def test_victims_flow_over_https(self):
        self.victims_flow('Bonjour, test du parcours.')

    def test_tls_is_1_2_or_1_3_only(self):
        with self.raw_tls() as s:
            self.assertEqual(s.version(), 'TLSv1.3')
        ctx = self.tls()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', self.https_port), timeout=10),
                            server_hostname='127.0.0.1')
        with s:
            self.assertEqual(s.version(), 'TLSv1.2')
        self.assertRegex(self.site_text, r'\n\s*ssl_protocols TLSv1\.2 TLSv1\.3;')

    def test_plain_http_redirects_to_https(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.http_port, timeout=10)
        conn.request('GET', '/chat?x=1', headers={'Host': 'chat.example.fr'})
        r = conn.getresponse()
        r.read()
        conn.close()
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader('Location'), 'https://chat.example.fr/chat?x=1')

    def test_pages_carry_hsts_and_the_security_headers(self):
        r, data = self.request('GET', '/')
        self.assertEqual(r.status, 200)
        self.assertRegex(r.getheader('Strict-Transport-Security', ''), r'^max-age=\d{8,}')
        self.assertIn("default-src 'none'", r.getheader('Content-Security-Policy', ''))
        self.assertEqual(r.getheader('X-Content-Type-Options'), 'nosniff')
        self.assertEqual(r.getheader('Server'), 'nginx')  # server_tokens off: no version
        r, data = self.request('GET', '/api/health')
        self.assertEqual(r.status, 200, data)
        self.assertTrue(r.getheader('Strict-Transport-Security'))
        r, data = self.provoke_404()
        self.assertTrue(r.getheader('Strict-Transport-Security'))

    def test_operators_log_in_over_https_with_a_host_only_secure_cookie(self):
        r, data = self.request('GET', '/agent/')
        self.assertEqual(r.status, 200)
        self.assertIn("default-src 'none'", r.getheader('Content-Security-Policy', ''))
        r, data = self.patiently('POST', '/api/agent/login',
                                 {'username': 'dupont', 'password': 'un mot de passe de test assez long'})
        self.assertEqual(r.status, 200, data)
        self.assertEqual(json.loads(data)['agent']['username'], 'dupont')
        cookies = r.msg.get_all('Set-Cookie') or []
        login = [c for c in cookies if c.startswith('__Host-abri_agent=')]
        self.assertEqual(len(login), 1, cookies)
        for attribute in ('Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/'):
            self.assertIn(attribute, login[0])
        # The known browser's device cookie: Secure too, sent to the login only.
        device = [c for c in cookies if c.startswith('__Secure-abri_device=')]
        self.assertEqual(len(device), 1, cookies)
        for attribute in ('Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/api/agent/login'):
            self.assertIn(attribute, device[0])

    def test_unknown_path_is_a_json_404(self):
        r, data = self.provoke_404()
        self.json_error(r, data, 404, 'not_found')

    def test_too_large_body_is_a_json_413(self):
        token = self.open_session()['token']
        answer = self.provoke_413(token)
        head, _, body = answer.partition(b'\r\n\r\n')
        self.assertTrue(head.startswith(b'HTTP/1.1 413 '), head)
        self.assertIn(b'application/json', head)
        self.assertEqual(json.loads(body)['error']['code'], 'body_too_large')

    def test_too_many_sessions_is_a_json_429(self):
        r, data, statuses = self.provoke_429()
        self.assertIsNotNone(r, 'no 429 among %s' % statuses)
        self.json_error(r, data, 429, 'too_many_requests')

    def raw_answer(self, data, tls=True):
        """Bytes sent as they are to the HTTPS port (over TLS, or not);
        returns (status, headers with lower-case names, body)."""
        s = socket.create_connection(('127.0.0.1', self.https_port), timeout=10)
        if tls:
            s = self.tls().wrap_socket(s, server_hostname='127.0.0.1')
        with s:
            s.sendall(data)
            answer = read_until_closed(s)
        head, _, body = answer.partition(b'\r\n\r\n')
        lines = head.decode('latin-1').split('\r\n')
        headers = dict((k.strip().lower(), v.strip()) for k, _, v in (l.partition(':') for l in lines[1:]))
        return int(lines[0].split()[1]), headers, body

    def raw_json_error(self, data, status, code, tls=True):
        got, headers, body = self.raw_answer(data, tls)
        self.assertEqual(got, status, body)
        self.assertTrue(headers.get('content-type', '').startswith('application/json'), (headers, body))
        self.assertEqual(json.loads(body)['error']['code'], code)
        self.assertEqual(headers.get('cache-control'), 'no-store')
        self.assertRegex(headers.get('strict-transport-security', ''), r'^max-age=\d{8,}')

    def test_a_header_too_large_for_nginx_is_a_json_400(self):
        self.raw_json_error(b'GET /api/messages HTTP/1.1\r\nHost: localhost\r\nCookie: c=' + b'A' * 9000 +
                            b'\r\nConnection: close\r\n\r\n', 400, 'header_too_large')

    def test_a_request_line_nginx_cannot_parse_is_a_json_400(self):
        self.raw_json_error(b'GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
                            400, 'bad_request')

    def test_plain_http_sent_to_the_https_port_is_a_json_400(self):
        # nginx's status 497; no HSTS on it (not over HTTPS), so only the shape.
        got, headers, body = self.raw_answer(b'GET /api/health HTTP/1.1\r\nHost: localhost\r\n'
                                             b'Connection: close\r\n\r\n', tls=False)
        self.assertEqual(got, 400, body)
        self.assertTrue(headers.get('content-type', '').startswith('application/json'), (headers, body))
        self.assertEqual(json.loads(body)['error']['code'], 'https_required')

    def test_a_missing_program_is_a_json_503(self):
        if self.CGI:
            self.skipTest('fcgiwrap serves every program')
        # abri@admin.socket is optional and not started here; the
        # administrator's server says so in JSON.
        self.assertFalse(os.path.exists(self.at(RUN + '/admin.sock')))
        r, data = self.admin_request('POST', '/api/admin/purge')
        self.json_error(r, data, 503, 'unavailable')

    def test_admin_purge_is_a_json_404_on_the_public_server(self):
        r, data = self.request('POST', '/api/admin/purge', {})
        self.json_error(r, data, 404, 'not_found')
        self.assertNotIn('/api/admin/', self.locations_text.replace('# /api/admin/', ''))

    def test_rate_limits_are_keyed_per_ipv4_address_and_per_ipv6_64(self):
        # The installed map, in an nginx of its own that answers the key
        # it computes: an IPv6 client is its /64 (8 bytes: ::1 is in ::/64),
        # so 2^64 addresses of one subscriber share one bucket.
        if self.CGI:
            self.skipTest('checked once, by the FastCGI run')
        text = read(self.at(DATA + '/nginx/abri-http.conf'))
        key_map = re.search(r'(?ms)^map \$binary_remote_addr \$abri_client \{.*?^\}', text).group(0)
        self.assertRegex(text, r'limit_req_zone \$abri_client zone=abri_public:')
        self.assertRegex(text, r'limit_conn_zone \$abri_client zone=abri_conn:')
        self.assertRegex(text, r'limit_req_zone \$abri_client zone=abri_login:\S+ rate=\d+r/m;')
        self.assertRegex(self.locations_text, r'location = /api/agent/login \{\s*limit_req zone=abri_login ')
        prefix = os.path.join(self.tmp, 'keys')
        os.makedirs(prefix + '/logs')
        port = free_port()
        with open(prefix + '/nginx.conf', 'w') as f:
            f.write('daemon off; master_process off; pid %s/nginx.pid; error_log %s/logs/error.log;\n'
                    'events { worker_connections 16; }\n'
                    'http { access_log off; %s\n server { listen 127.0.0.1:%d; listen [::1]:%d;\n'
                    ' location / { default_type application/octet-stream; return 200 $abri_client; } } }\n'
                    % (prefix, prefix, key_map, port, port))
        nginx = subprocess.Popen(['nginx', '-p', prefix, '-c', prefix + '/nginx.conf'],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def key(host, family):
                try:
                    with socket.socket(family, socket.SOCK_STREAM) as s:
                        s.settimeout(5)
                        s.connect((host, port))
                        s.sendall(b'GET / HTTP/1.0\r\n\r\n')
                        return read_until_closed(s).partition(b'\r\n\r\n')[2]
                except OSError:
                    return None
            wait_for(lambda: key('127.0.0.1', socket.AF_INET) is not None, what='the key server')
            self.assertEqual(key('127.0.0.1', socket.AF_INET), bytes([127, 0, 0, 1]))
            self.assertEqual(key('::1', socket.AF_INET6), bytes(8))
        finally:
            nginx.terminate()
            nginx.wait()

    def test_the_administrators_socket_is_in_a_directory_only_root_enters(self):
        text = read(self.at('/etc/tmpfiles.d/abri.conf'))
        self.assertIn('\nd %s 0700 root root -\n' % ADMIN, text)
        variant = '-cgi' if self.CGI else ''
        self.assertIn('listen unix:%s/admin.sock;' % self.at(ADMIN),
                      read(self.at(DATA + '/nginx/abri-http%s.conf' % variant)))

    def test_configuration_backup_holds_no_chat(self):
        # The backup and restore commands of docs/install.md, step 10.
        if not shutil.which('sqlite3'):
            self.skipTest('no sqlite3 command')
        text = 'Message qui ne doit jamais être sauvegardé %d' % os.getpid()
        self.victims_flow(text)
        dump = subprocess.run(['sqlite3', '-readonly', self.db,
                               '.dump --data-only units routes agents agent_units'],
                              check=True, stdout=subprocess.PIPE, text=True).stdout
        self.assertIn("'75PP'", dump)
        self.assertIn("'dupont'", dump)
        self.assertNotIn(text, dump)
        self.assertNotRegex(dump, r'INSERT INTO "?(sessions|messages|pulses|agent_logins)\b')
        fresh = os.path.join(self.tmp, 'restored-%d.db' % int(self.CGI))
        subprocess.run([self.at(LIBEXEC + '/abrictl'), '--db', fresh, 'init'], check=True,
                       stdout=subprocess.DEVNULL, env=self._env())
        subprocess.run(['sqlite3', fresh], input=dump, text=True, check=True)
        codes = subprocess.run(['sqlite3', fresh, 'SELECT code FROM units; SELECT username FROM agents;'],
                               check=True, stdout=subprocess.PIPE, text=True).stdout.split()
        self.assertEqual(codes, ['75PP', 'dupont'])

    def test_admin_purge_is_served_by_fcgiwrap_too(self):
        if not self.CGI:
            self.skipTest('abri@admin.socket is optional and not started here')
        r, data = self.admin_request('POST', '/api/admin/purge')
        self.assertEqual(r.status, 200, data)
        self.assertIn('sessions', json.loads(data))

    def test_the_cron_line_runs_the_purge(self):
        # /etc/cron.d/abri's command, as cron runs it: /bin/sh, the service
        # user, cron's PATH; abri.env and the programs under the test's root.
        if self.CGI:
            self.skipTest('checked once, by the FastCGI run')
        crontab = read(self.at('/etc/cron.d/abri'))
        job = [l for l in crontab.splitlines() if re.match(r'[*0-9]', l)][0]
        schedule, user, command = job.split('\t')
        self.assertEqual((schedule, user), ('*/5 * * * *', 'abri'))
        env_file = os.path.join(self.tmp, 'cron-abri.env')
        with open(env_file, 'w') as f:
            f.write(read(self.at('/etc/abri/abri.env')).replace('=' + STATE, '=' + self.at(STATE)))
        command = command.replace('/etc/abri/abri.env', env_file).replace(
            LIBEXEC + '/', self.at(LIBEXEC) + '/')
        run = subprocess.run(['/bin/sh', '-c', command], env={'PATH': '/usr/bin:/bin'},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=sandbox(self.uid, self.gid, False, None))
        self.assertEqual((run.returncode, run.stdout, run.stderr), (0, '', ''))

    # ----- the installed abrictl --------------------------------------------

    def installed_abrictl(self, settings, *argv, env=None):
        """Runs /usr/local/sbin/abrictl as the admin would, as the service
        user, with `settings` as /etc/abri/abri.env and the programs under
        the test's root; returns the finished process."""
        if self.CGI:
            self.skipTest('checked once, by the FastCGI run')
        name = 'abrictl-%d' % len(os.listdir(self.tmp))
        settings_file = os.path.join(self.tmp, name + '.env')
        with open(settings_file, 'w') as f:
            f.write(settings)
        command = os.path.join(self.tmp, name)
        with open(command, 'w') as f:
            f.write(read(self.at(SBIN + '/abrictl')).replace('/etc/abri/abri.env', settings_file)
                    .replace(LIBEXEC + '/', self.at(LIBEXEC) + '/'))
        return subprocess.run(['/bin/sh', command, *argv], env=dict(env or {}, PATH='/usr/bin:/bin'),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=sandbox(self.uid, self.gid, False, None))

    def installed_settings(self):
        return read(self.at('/etc/abri/abri.env')).replace('=' + STATE, '=' + self.at(STATE))

    def test_installed_abrictl_reads_the_database_abri_env_names(self):
        run = self.installed_abrictl(self.installed_settings(), 'stats')
        self.assertEqual((run.returncode, run.stderr), (0, ''))
        self.assertIn('waiting: ', run.stdout)
        # The database abri.env names, not the build's default.
        moved = os.path.join(self.tmp, 'moved.db')
        run = self.installed_abrictl(self.installed_settings().replace(self.db, moved), 'stats')
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn(moved + ': no database there', run.stderr)

    def test_installed_abrictl_without_abri_db_in_abri_env_says_how_to_name_it(self):
        settings = re.sub(r'(?m)^ABRI_DB=.*\n', '', self.installed_settings())
        run = self.installed_abrictl(settings, 'stats')
        self.assertEqual(run.returncode, 2)
        self.assertIn('sets no ABRI_DB', run.stderr)
        self.assertIn('--db PATH', run.stderr)
        self.assertEqual(self.installed_abrictl(settings, '--db', self.db, 'stats').returncode, 0)

    def test_installed_abrictl_takes_another_database_from_db_or_the_environment(self):
        missing = os.path.join(self.tmp, 'elsewhere.db')
        for argv, env in ((['--db', missing, 'stats'], None), (['stats'], {'ABRI_DB': missing})):
            run = self.installed_abrictl(self.installed_settings(), *argv, env=env)
            self.assertEqual(run.returncode, 1, run.stderr)
            self.assertIn(missing + ': no database there', run.stderr)
            self.assertFalse(os.path.exists(missing))

    def test_logs_hold_no_client_address_token_or_chat_text(self):
        # Every request-level event issue 6 names, then every log.
        text = 'Texte secret du test %d' % os.getpid()
        token, sent = self.victims_flow(text)
        self.provoke_404()
        self.provoke_413(token)
        r, _, statuses = self.provoke_429()
        self.assertIsNotNone(r, 'no 429 among %s' % statuses)
        self.abort_long_poll(token, sent)
        if not self.CGI:  # connect() fails: "crit" in nginx, a 503 to the administrator
            self.assertEqual(self.admin_request('POST', '/api/admin/purge')[0].status, 503)
        # the aborted poll is logged once nginx has seen the visitor leave
        wait_for(lambda: any(' 499 ' in l for l in self.access_log_lines()),
                 what='the aborted long-poll (499) in the access log')

        logs = [os.path.join(self.at(NGINX_LOG), f) for f in os.listdir(self.at(NGINX_LOG))]
        logs += self.logs
        forbidden = ['127.0.0.1', 'client:', token, text]
        for path in logs:
            with open(path, errors='replace') as f:
                content = f.read()
            for needle in forbidden:
                self.assertNotIn(needle, content,
                                 '%s holds %r:\n%s' % (path, needle, content[-2000:]))
        access = '\n'.join(self.access_log_lines())
        for status in (' 201 ', ' 404 ', ' 413 ', ' 429 ', ' 499 '):
            self.assertIn(status, access)

    # ----- systemd ------------------------------------------------------------

    def units_for_analysis(self):
        """The installed units, copied with ExecStart= pointing at the
        installed programs, so that verify finds them on this machine."""
        out = os.path.join(self.tmp, 'units')
        os.makedirs(out, exist_ok=True)
        for name in os.listdir(self.at(UNITDIR)):
            with open(os.path.join(self.at(UNITDIR), name)) as f:
                text = f.read()
            text = text.replace('ExecStart=' + LIBEXEC, 'ExecStart=' + self.at(LIBEXEC))
            with open(os.path.join(out, name), 'w') as f:
                f.write(text)
        return out

    def units(self):
        if self.CGI:
            self.skipTest('the units are checked once, by the FastCGI run')
        if not shutil.which('systemd-analyze'):
            self.skipTest('no systemd-analyze on this machine')
        return self.units_for_analysis()

    def test_systemd_analyze_verify_accepts_the_units(self):
        d = self.units()
        units = [os.path.join(d, u) for u in
                 ['abri@%s.service' % p for p in PROGRAMS + ('admin',)] +
                 ['abri@%s.socket' % p for p in PROGRAMS + ('admin',)] +
                 ['abri-purge.service', 'abri-purge.timer', 'abri-cgi.socket']]
        if shutil.which('fcgiwrap'):
            units.append(os.path.join(d, 'abri-cgi.service'))
        run = subprocess.run(['systemd-analyze', 'verify', '--man=no'] + units,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(run.returncode, 0, run.stdout)
        self.assertEqual(run.stdout.strip(), '')

    def test_units_size_descriptors_for_5000_waiters_and_forbid_core_dumps(self):
        for unit in ('abri@.service', 'abri-cgi.service', 'abri-purge.service'):
            with self.subTest(unit=unit):
                text = read(self.at(UNITDIR + '/' + unit))
                self.assertRegex(text, r'(?m)^LimitCORE=0$')
                if unit != 'abri-purge.service':
                    nofile = int(re.search(r'(?m)^LimitNOFILE=(\d+)$', text).group(1))
                    self.assertGreaterEqual(nofile, 20000 + 1024)  # kMaxParked and room
        for unit in ('abri@.socket', 'abri-cgi.socket'):
            self.assertRegex(read(self.at(UNITDIR + '/' + unit)), r'(?m)^SocketGroup=abri-web$')
        # nginx: 2 connections a waiter, one descriptor a connection.
        main = read(self.at('/etc/nginx/modules-enabled/50-abri.conf'))
        self.assertGreaterEqual(int(re.search(r'(?m)^worker_rlimit_nofile (\d+);', main).group(1)), 2 * 5000 * 2)
        self.assertRegex(main, r'worker_connections (\d{5});')

    def test_programs_cannot_dump_core(self):
        # PR_SET_DUMPABLE 0: the kernel then gives the process's /proc
        # files (not its directory) to root instead of its user (proc(5)).
        if self.CGI or self.uid is None:
            self.skipTest('needs root, the programs running as another user')
        for p in self.procs:
            if os.path.basename(p.args[0]) in PROGRAMS:
                with self.subTest(program=p.args[0]):
                    status = read('/proc/%d/status' % p.pid)
                    self.assertRegex(status, r'(?m)^Uid:\t%d\t' % self.uid)
                    self.assertEqual(os.stat('/proc/%d/environ' % p.pid).st_uid, 0)

    def test_systemd_security_rates_every_service_2_0_or_better(self):
        d = self.units()
        for unit in ['abri@%s.service' % p for p in PROGRAMS + ('admin',)] + \
                ['abri-purge.service', 'abri-cgi.service']:
            run = subprocess.run(['systemd-analyze', 'security', '--offline=true', '--no-pager',
                                  os.path.join(d, unit)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            m = re.search(r'Overall exposure level for \S+: (\d+\.\d+)', run.stdout)
            self.assertIsNotNone(m, run.stdout)
            self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, run.stdout)


@unittest.skipUnless(shutil.which('fcgiwrap'), 'fcgiwrap is not installed (apt-get install fcgiwrap)')
class InstalledAsPlainCGI(Installed):
    """The same, with the plain-CGI alternative of docs/install.md: one
    fcgiwrap socket, the -cgi variants of the included nginx files, every
    request served by a fresh process of the installed program."""

    CGI = True


if __name__ == '__main__':
    unittest.main()
