"""The documentation says what the code does: every route of every program
is in docs/api.md and every endpoint there is routed (each program prints
its table with --routes, lib/route.hpp); the README stays short and its
walk through the source names every file of lib/ and cgi/."""
import glob
import os
import re
import subprocess
import unittest

from stack import BIN, ROOT

PROGRAMS = ("session", "messages", "agent", "admin")
# A method and an /api/ path in backquotes, the query string left out;
# "{session}" and the like are the same hole as the tables' "{s}".
DOCUMENTED = re.compile(r"`(GET|POST|PUT|DELETE|PATCH) (/api/[^`?\s]*)")


def routed():
    routes = set()
    for program in PROGRAMS:
        done = subprocess.run([os.path.join(BIN, program), "--routes"], capture_output=True, text=True, timeout=10)
        if done.returncode != 0 or not done.stdout.strip():
            raise AssertionError("%s --routes: %d %s" % (program, done.returncode, done.stderr))
        routes |= set(done.stdout.splitlines())
    return routes


def documented():
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        text = f.read()
    return {"%s %s" % (method, re.sub(r"\{[a-z]+\}", "{s}", path)) for method, path in DOCUMENTED.findall(text)}


class DocsAndRoutes(unittest.TestCase):
    def test_every_route_is_documented(self):
        self.assertEqual(sorted(routed() - documented()), [], "routed but missing from docs/api.md")

    def test_every_documented_endpoint_is_routed(self):
        self.assertEqual(sorted(documented() - routed()), [], "in docs/api.md but routed by no program")


class Readme(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "README.md")) as f:
            cls.text = f.read()

    def test_readme_stays_short(self):
        self.assertLessEqual(len(self.text.splitlines()), 210)

    def test_the_source_walk_names_every_file_of_lib_and_cgi(self):
        missing = []
        for path in sorted(glob.glob(os.path.join(ROOT, "lib", "*.*")) + glob.glob(os.path.join(ROOT, "cgi", "*.cpp"))):
            folder = os.path.basename(os.path.dirname(path))
            stem = os.path.splitext(os.path.basename(path))[0]
            if not re.search(r"`%s/%s[.`{]" % (folder, re.escape(stem)), self.text):
                missing.append(os.path.relpath(path, ROOT))
        self.assertEqual(missing, [])

    def test_relative_links_resolve(self):
        for name in ["README.md"] + [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))]:
            with open(os.path.join(ROOT, name)) as f:
                text = f.read()
            for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
                with self.subTest(page=name, link=target):
                    self.assertTrue(os.path.exists(os.path.join(ROOT, os.path.dirname(name), target)), target)
