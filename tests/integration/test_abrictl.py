"""abrictl's command table (cgi/abrictl.cpp, kCommands), through the real
binary: `abrictl --commands` prints the rows (command, subcommand, least
and most operands, options, synopsis; tab-separated), `abrictl help`
prints a line for each and no other, the dispatcher knows every row, and
a command line it does not know is a usage error (exit 2, the problem
named, then the usage). No stack: a usage error stops before the
database, which these tests check is never created."""
import os
import re
import subprocess
import tempfile
import unittest

from stack import BIN, ROOT

# The options that some command takes; each row refuses the others.
OPTIONS = ("name", "kind", "unit", "display", "title", "json")


class Command:
    def __init__(self, line):
        word, sub, least, most, options, self.synopsis = line.split("\t")
        self.words = [word] if sub == "-" else [word, sub]
        self.least, self.most = int(least), int(most)
        self.options = [] if options == "-" else [o[2:] for o in options.split(" ")]

    def __repr__(self):
        return " ".join(self.words)


class CommandTable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="abri-ctl-")
        cls.db = os.path.join(cls.dir, "never.db")
        done = cls.run_ctl("--commands")
        if done.returncode != 0:
            raise AssertionError("abrictl --commands: %d %s" % (done.returncode, done.stderr))
        cls.commands = [Command(line) for line in done.stdout.splitlines()]

    @classmethod
    def tearDownClass(cls):
        os.rmdir(cls.dir)  # fails if a test left a database behind

    @classmethod
    def run_ctl(cls, *args):
        return subprocess.run([os.path.join(BIN, "abrictl"), "--db", cls.db, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30)

    def assertUsageError(self, done, message):
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertEqual(done.stdout, "")
        first, rest = done.stderr.split("\n", 1)
        self.assertEqual(first, "abrictl: " + message)
        self.assertTrue(rest.startswith("usage: abrictl"), rest)
        self.assertFalse(os.path.exists(self.db))

    def test_the_table_has_every_command(self):
        self.assertEqual({str(c) for c in self.commands},
                         {"init", "stats", "metrics",
                          "unit add", "unit list", "unit fallback", "unit rename", "unit remove", "unit names",
                          "route add", "route default", "route list", "route remove",
                          "agent add", "agent disable", "agent enable", "agent passwd", "agent rename",
                          "agent remove", "agent list",
                          "reply add", "reply list", "reply remove"})

    def test_help_prints_a_line_for_each_row_and_no_other(self):
        done = self.run_ctl("help")
        self.assertEqual(done.returncode, 0, done.stderr)
        # A command's line starts with two spaces, then its synopsis, then
        # (after two spaces or more) what it does; a longer description
        # goes on in lines that start with more spaces.
        shown = [re.split(r"\s{2,}", line.strip())[0] for line in done.stdout.splitlines()
                 if re.match(r"  \S", line)]
        self.assertEqual(sorted(shown), sorted(c.synopsis for c in self.commands))

    def test_alone_it_prints_the_usage_and_exits_2(self):
        done = self.run_ctl()
        self.assertEqual(done.returncode, 2)
        self.assertTrue(done.stdout.startswith("usage: abrictl"), done.stdout)

    def test_every_row_refuses_a_wrong_number_of_operands(self):
        for command in self.commands:
            counts = [command.most + 1] + ([command.least - 1] if command.least > 0 else [])
            for count in counts:
                with self.subTest(command=str(command), operands=count):
                    self.assertUsageError(self.run_ctl(*command.words, *["x"] * count),
                                          "wrong number of arguments for %s" % command)

    def test_every_row_refuses_an_option_it_does_not_take(self):
        for command in self.commands:
            for option in OPTIONS:
                if option in command.options:
                    continue
                with self.subTest(command=str(command), option=option):
                    flag = "--json" if option == "json" else "--%s=v" % option
                    self.assertUsageError(self.run_ctl(*command.words, *["x"] * command.least, flag),
                                          "--%s does not go with this command" % option)

    def test_unknown_subcommand_is_a_usage_error_naming_it(self):
        self.assertUsageError(self.run_ctl("unit", "frobnicate", "X"), "unknown unit command 'frobnicate'")

    def test_missing_subcommand_is_a_usage_error(self):
        self.assertUsageError(self.run_ctl("agent"), "agent needs a subcommand")

    def test_unknown_command_is_a_usage_error_naming_it(self):
        self.assertUsageError(self.run_ctl("frobnicate"), "unknown command 'frobnicate'")

    def test_unknown_option_is_a_usage_error_naming_it(self):
        self.assertUsageError(self.run_ctl("unit", "list", "--colour"), "unknown option '--colour'")

    def test_unit_names_takes_on_or_off(self):
        self.assertUsageError(self.run_ctl("unit", "names", "PP-75", "maybe"),
                              "unit names takes on or off, not 'maybe'")

    def test_docs_console_md_shows_every_command(self):
        with open(os.path.join(ROOT, "docs", "console.md")) as f:
            console = f.read()
        for command in self.commands:
            with self.subTest(command=str(command)):
                self.assertIn("abrictl %s" % command, console)


if __name__ == "__main__":
    unittest.main()
