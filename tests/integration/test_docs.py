"""The documentation says what the code does: every route of every program
is in docs/api.md, every endpoint there is routed, and each answers the
statuses docs/api.md gives for it (each program prints its table with
--routes, lib/route.hpp); the README stays short and its walk through the
source names every file of lib/ and cgi/."""
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
# A row of docs/api.md's table of statuses: "| `POST /api/messages` | 201 400 ... |".
STATUSES = re.compile(r"^\| `(GET|POST|PUT|DELETE|PATCH) (/api/[^`?\s]*)` \| ([0-9 ]+) \|$", re.M)


def hole(path):
    return re.sub(r"\{[a-z]+\}", "{s}", path)


def routed():
    """{"METHOD PATH": "statuses"} of every program's table: each --routes
    line is method, path, caller, query keys, body fields and statuses,
    separated by tabs."""
    routes = {}
    for program in PROGRAMS:
        done = subprocess.run([os.path.join(BIN, program), "--routes"], capture_output=True, text=True, timeout=10)
        if done.returncode != 0 or not done.stdout.strip():
            raise AssertionError("%s --routes: %d %s" % (program, done.returncode, done.stderr))
        for line in done.stdout.splitlines():
            method, path, _caller, _query, _body, statuses = line.split("\t")
            routes["%s %s" % (method, path)] = statuses
    return routes


def api_md():
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        return f.read()


def documented():
    return {"%s %s" % (method, hole(path)) for method, path in DOCUMENTED.findall(api_md())}


def documented_statuses():
    table = {}
    for method, path, statuses in STATUSES.findall(api_md()):
        key = "%s %s" % (method, hole(path))
        if key in table:
            raise AssertionError("%s has two rows in docs/api.md's table of statuses" % key)
        table[key] = statuses.strip()
    return table


class DocsAndRoutes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.routes = routed()

    def test_every_route_is_documented(self):
        self.assertEqual(sorted(set(self.routes) - documented()), [], "routed but missing from docs/api.md")

    def test_every_documented_endpoint_is_routed(self):
        self.assertEqual(sorted(documented() - set(self.routes)), [], "in docs/api.md but routed by no program")

    def test_each_route_answers_the_statuses_docs_api_md_gives(self):
        self.assertEqual(documented_statuses(), self.routes)


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
