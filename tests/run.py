"""make test: every suite, then one closing line "N passed, N failed".

Suites: the Boost.Test unit tests of lib/ ($ABRI_UNIT_TESTS), the Python
integration tests (tests/integration, tests/deploy) that drive the real
nginx and programs, and the browser tests (tests/browser/*.mjs) against a
stack started here.
"""
import glob
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
from stack import Stack  # noqa: E402

totals = {"passed": 0, "failed": 0}


def count(suite, passed, failed):
    totals["passed"] += passed
    totals["failed"] += failed
    print("== %s: %d passed, %d failed" % (suite, passed, failed), flush=True)


def unit_tests():
    binary = os.environ["ABRI_UNIT_TESTS"]
    done = subprocess.run([binary, "--report_level=short", "--log_level=error"], capture_output=True, text=True)
    sys.stdout.write(done.stdout + done.stderr)
    text = done.stdout + done.stderr
    passed = sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ passed", text))
    failed = sum(int(n) for n in re.findall(r"(\d+) test cases? out of \d+ failed", text))
    if "No errors detected" in text and passed == 0:
        passed = int(re.search(r"(\d+) test case", text).group(1)) if re.search(r"(\d+) test case", text) else 1
    if done.returncode != 0 and failed == 0:
        failed = 1
    count("unit (Boost.Test)", passed, failed)


class TimedResult(unittest.TextTestResult):
    """Records each test's duration, so the slowest can be named."""

    durations = []

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        TimedResult.durations.append((time.monotonic() - self._started, test.id()))
        super().stopTest(test)


def python_tests():
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for folder in ("integration", "deploy"):
        path = os.path.join(HERE, folder)
        if os.path.isdir(path):
            suite.addTests(loader.discover(path, pattern="test_*.py", top_level_dir=path))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=TimedResult).run(suite)
    print("slowest:")
    for seconds, name in sorted(TimedResult.durations, reverse=True)[:8]:
        print("  %6.1f s  %s" % (seconds, name))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    count("integration (unittest)", result.testsRun - failed - len(result.skipped), failed)


# A script whose traffic would change what the others see gets a stack of
# its own: flood.mjs floods session creation on purpose. The others share
# one stack, where agent.mjs's 110 sessions a minute (the queue's paging)
# must not be taken for a flood.
OWN_STACK = {"flood.mjs"}
SHARED_STACK_ENV = {"ABRI_WORK_AFTER": "1000000"}


def run_browser_script(script, stack):
    user, password = stack.demo_operator() if os.path.exists(
        os.path.join(os.path.dirname(stack.db), "demo-operator.txt")) else ("", "")
    # The database and abrictl too: a script can add a colleague's account.
    env = dict(os.environ, ABRI_URL=stack.url, ABRI_AGENT_USER=user, ABRI_AGENT_PASSWORD=password,
               ABRI_DB=stack.db, ABRI_BIN=os.environ.get("ABRI_BIN", os.path.join(os.path.dirname(HERE), "bin")))
    done = subprocess.run(["node", script], env=env, capture_output=True, text=True, timeout=600)
    sys.stdout.write(done.stdout + done.stderr)
    match = re.findall(r"^(\d+) passed, (\d+) failed", done.stdout, re.M)
    passed, failed = (int(match[-1][0]), int(match[-1][1])) if match else (0, 1)
    if done.returncode != 0 and failed == 0:
        failed = 1
    count("browser " + os.path.basename(script), passed, failed)


def browser_tests():
    scripts = sorted(glob.glob(os.path.join(HERE, "browser", "*.mjs")))
    scripts = [s for s in scripts if not os.path.basename(s).startswith("_")]
    shared = [s for s in scripts if os.path.basename(s) not in OWN_STACK]
    if shared:
        with Stack(env=SHARED_STACK_ENV) as stack:
            for script in shared:
                run_browser_script(script, stack)
    for script in scripts:
        if os.path.basename(script) in OWN_STACK:
            with Stack() as stack:
                run_browser_script(script, stack)


def main():
    for suite in (unit_tests, python_tests, browser_tests):
        try:
            suite()
        except Exception as error:  # a suite that cannot run is a failure, not a crash of the runner
            print("== %s could not run: %s" % (suite.__name__, error))
            count(suite.__name__, 0, 1)
    print("%d passed, %d failed" % (totals["passed"], totals["failed"]))
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
