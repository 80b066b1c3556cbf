"""make test: every suite, then one closing line "N passed, N failed".

Suites: the Boost.Test unit tests of lib/ ($ABRI_UNIT_TESTS), the Python
integration tests (tests/integration, tests/deploy) that drive the real
nginx and programs, and the browser tests (tests/browser/*.mjs) against a
stack started here.

Most of the time goes to waiting (long polls, timers, programs starting),
not to computing: the suites run as jobs, ABRI_TEST_JOBS (4) at a time,
each integration module in a process of its own with stacks of its own,
each browser script on a stack of its own, the unit tests one top-level
suite per process. A job's output is printed whole when it ends; the
slowest tests, the per-suite counts and the closing line come last.
"""
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
from stack import Stack  # noqa: E402

JOBS = int(os.environ.get("ABRI_TEST_JOBS", "4"))
UNIT = "unit (Boost.Test)"
INTEGRATION = "integration (unittest)"


class Outcome:
    """What one job found: its printed output, (suite, passed, failed)
    counts, and (seconds, test id) for the integration tests it ran."""

    def __init__(self, output="", counts=(), durations=()):
        self.output = output
        self.counts = list(counts)
        self.durations = list(durations)


# -- unit tests: one process per top-level suite ------------------------------
def unit_suites(binary):
    listing = subprocess.run([binary, "--list_content"], capture_output=True, text=True, check=True)
    return [line.rstrip("*").strip() for line in listing.stderr.splitlines() + listing.stdout.splitlines()
            if line.strip() and not line.startswith(" ")]


def unit_job(binary, suite):
    done = subprocess.run([binary, "--run_test=" + suite, "--report_level=short", "--log_level=error"],
                          capture_output=True, text=True)
    text = done.stdout + done.stderr
    passed = sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ passed", text))
    failed = sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ failed", text))
    if done.returncode != 0 and failed == 0:
        failed = 1
    # Boost's report of a shard that passed says only what the counts say.
    return Outcome(text if failed else "", [(UNIT, passed, failed)])


# -- integration tests: one process per module ---------------------------------
class TimedResult(unittest.TextTestResult):
    """Records each test's duration, so the slowest can be named."""

    durations = []

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        TimedResult.durations.append((time.monotonic() - self._started, test.id()))
        super().stopTest(test)


def integration_modules():
    found = []
    for folder in ("integration", "deploy"):
        found += sorted(glob.glob(os.path.join(HERE, folder, "test_*.py")))
    return found


def run_module(path, report):
    """In the job's own process: the tests of one module, reported to the
    file `report` (JSON) for the runner to count."""
    folder = os.path.dirname(path)
    suite = unittest.TestLoader().discover(folder, pattern=os.path.basename(path), top_level_dir=folder)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=TimedResult).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    with open(report, "w") as f:
        json.dump({"passed": result.testsRun - failed - len(result.skipped), "failed": failed,
                   "durations": TimedResult.durations}, f)


def module_job(path):
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--module", path, report.name],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with open(report.name) as f:
            found = f.read()
    if done.returncode != 0 or not found:  # the module could not even be loaded: one failure
        return Outcome(done.stdout, [(INTEGRATION, 0, 1)])
    found = json.loads(found)
    return Outcome(done.stdout, [(INTEGRATION, found["passed"], found["failed"])],
                   [tuple(d) for d in found["durations"]])


# -- browser tests: one stack and one job per script ------------------------------
# flood.mjs floods session creation on purpose, on a stack as installed.
# The others' stacks never ask for work: agent.mjs's 110 sessions a minute
# (the queue's paging) must not be taken for a flood.
FLOODED = {"flood.mjs"}
UNFLOODED_ENV = {"ABRI_WORK_AFTER": "1000000"}


def browser_job(script):
    with Stack(env=None if os.path.basename(script) in FLOODED else UNFLOODED_ENV) as stack:
        user, password = stack.demo_operator()
        # The database and abrictl too: a script can add a colleague's account.
        env = dict(os.environ, ABRI_URL=stack.url, ABRI_AGENT_USER=user, ABRI_AGENT_PASSWORD=password,
                   ABRI_DB=stack.db, ABRI_BIN=os.environ.get("ABRI_BIN", os.path.join(os.path.dirname(HERE), "bin")))
        done = subprocess.run(["node", script], env=env, capture_output=True, text=True, timeout=600)
    match = re.findall(r"^(\d+) passed, (\d+) failed", done.stdout, re.M)
    passed, failed = (int(match[-1][0]), int(match[-1][1])) if match else (0, 1)
    if done.returncode != 0 and failed == 0:
        failed = 1
    return Outcome(done.stdout + done.stderr, [("browser " + os.path.basename(script), passed, failed)])


# -- the runner -------------------------------------------------------------------
class Job:
    """One unit of work for the pool: `run` returns an Outcome; `suite` is
    where a job that cannot run at all counts its failure."""

    def __init__(self, name, suite, run):
        self.name, self.suite, self.run = name, suite, run


def browser_jobs():
    scripts = sorted(glob.glob(os.path.join(HERE, "browser", "*.mjs")))
    return [Job("browser " + os.path.basename(script), "browser " + os.path.basename(script),
                lambda script=script: browser_job(script))
            for script in scripts if not os.path.basename(script).startswith("_")]


def unit_jobs():
    binary = os.environ["ABRI_UNIT_TESTS"]
    return [Job("unit " + suite, UNIT, lambda suite=suite: unit_job(binary, suite)) for suite in unit_suites(binary)]


def all_jobs():
    """The longest first, so that no long job starts last: the browser
    scripts, the unit suites, then the integration modules, the longest
    file first."""
    jobs = browser_jobs()
    try:
        jobs += unit_jobs()
    except Exception as error:  # no binary, no listing: a failure of the suite, not a crash of the runner
        listing = Outcome("could not list the unit tests: %s\n" % error, [(UNIT, 0, 1)])
        jobs.append(Job("unit", UNIT, lambda: listing))
    modules = sorted(integration_modules(), key=os.path.getsize, reverse=True)
    return jobs + [Job(os.path.relpath(path, HERE), INTEGRATION, lambda path=path: module_job(path)) for path in modules]


# flood.mjs holds the page to the promise, a chat within 5 s while
# the browser does the work: it runs alone, after the others, so that the
# CPU they take does not count against the visitor.
ALONE = {"browser flood.mjs"}


def run_job(job, printing):
    started = time.monotonic()
    try:
        outcome = job.run()
    except Exception as error:  # a job that cannot run is a failure, not a crash of the runner
        outcome = Outcome("%s could not run: %s\n" % (job.name, error), [(job.suite, 0, 1)])
    with printing:
        print("---- %s (%.1f s)" % (job.name, time.monotonic() - started))
        sys.stdout.write(outcome.output)
        sys.stdout.flush()
    return outcome


# Every stack's database, logs and sockets, and the browsers' profiles,
# go to TMPDIR: in memory (/dev/shm) when it has room and TMPDIR is not
# set: on disk every commit of every stack waits for its fsync, and the
# kernel's work for it is taken from the jobs beside it. A SIGKILL leaves
# in memory all that a program wrote, as it would on disk: the crash tests
# keep their meaning (a power cut is not among them).
IN_MEMORY = "/dev/shm"
IN_MEMORY_ROOM = 4 << 30


def scratch_folder():
    if "TMPDIR" in os.environ or not os.path.isdir(IN_MEMORY):
        return None
    room = os.statvfs(IN_MEMORY)
    if room.f_bavail * room.f_frsize < IN_MEMORY_ROOM:
        return None
    folder = tempfile.mkdtemp(prefix="abri-tests-", dir=IN_MEMORY)
    os.chmod(folder, 0o1777)  # as /tmp: nginx's workers and the installed service's user work there too
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = None
    return folder


def main():
    scratch = scratch_folder()
    try:
        return run_all()
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def run_all():
    printing = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="abri-demo-") as demo:
        # The demo database, filled once for every job's stacks (stack.py's DemoDatabase).
        os.environ["ABRI_TEST_DEMO_DIR"] = demo
        try:
            Stack().start().stop()
        except Exception as error:  # each job's stacks will fail and say so too
            print("the demo database could not be made: %s" % error)
        jobs = all_jobs()
        with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
            outcomes = list(pool.map(lambda job: run_job(job, printing), [j for j in jobs if j.name not in ALONE]))
        outcomes += [run_job(job, printing) for job in jobs if job.name in ALONE]
    print("slowest:")
    for seconds, name in sorted((d for o in outcomes for d in o.durations), reverse=True)[:8]:
        print("  %6.1f s  %s" % (seconds, name))
    suites = {UNIT: [0, 0], INTEGRATION: [0, 0]}
    for suite, passed, failed in (count for outcome in outcomes for count in outcome.counts):
        suites.setdefault(suite, [0, 0])
        suites[suite][0] += passed
        suites[suite][1] += failed
    for suite, (passed, failed) in suites.items():
        print("== %s: %d passed, %d failed" % (suite, passed, failed))
    passed, failed = (sum(counted[i] for counted in suites.values()) for i in (0, 1))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--module"]:
        run_module(*sys.argv[2:4])
    else:
        sys.exit(main())
