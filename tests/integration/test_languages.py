"""The victims' page in every language (www/lang/, `make pages`): the
committed pages are what the translation files make, every file has every
key of the French reference, keeps its numbers, and leaves nothing in
French; the script and the page's skeleton carry no words of their own."""
import os
import re
import shutil
import sys
import tempfile
import unittest

from stack import ROOT

LANG_DIR = os.path.join(ROOT, "www", "lang")
sys.path.insert(0, LANG_DIR)
import generate  # noqa: E402  (www/lang/generate.py, the generator itself)


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


class Languages(unittest.TestCase):
    def setUp(self):
        self.langs = generate.load_all()   # raises on a missing key, a number changed, French left

    def test_the_committed_pages_are_up_to_date(self):
        self.assertEqual(generate.stale(generate.outputs()), [], "run `make pages` and commit what it wrote")

    def test_the_languages_of_the_issue_are_there(self):
        for needed in ("fr", "facile", "en", "ar"):
            self.assertIn(needed, self.langs)
        sessions = {secs["meta"]["session"] for secs in self.langs.values()}
        self.assertLessEqual(sessions, set("fr en ar es pt tr ro ru uk zh".split()), "docs/api.md: POST /api/session lang")

    def test_each_page_says_its_language_and_links_every_other(self):
        for lang_id, secs in self.langs.items():
            page = read("www", generate.page_path(lang_id))
            meta = secs["meta"]
            self.assertIn('<html lang="%s" dir="%s">' % (meta["lang"], meta["dir"]), page, lang_id)
            self.assertIn('js/words-%s.js"' % lang_id, page, lang_id)
            self.assertEqual(len(re.findall(r'<a href="[^"]*" lang="[^"]+" hreflang="[^"]+"', page)), len(self.langs), lang_id)
            for other in self.langs.values():
                self.assertIn('lang="{0}" hreflang="{0}"'.format(other["meta"]["lang"]), page, lang_id)
                self.assertIn(">%s</a>" % other["meta"]["name"], page, lang_id)
            self.assertEqual(page.count('aria-current="page"'), 1, lang_id)
            self.assertEqual(len(set(re.findall(r'href="([^"]+)" data-exit', page))), 1, "one exit address, " + lang_id)
            self.assertEqual(page.count('" data-exit>'), 3, lang_id)

    def test_arabic_is_right_to_left(self):
        self.assertEqual(self.langs["ar"]["meta"]["dir"], "rtl")
        self.assertIn('[dir="rtl"]', read("www", "css", "abri.css"))

    def test_easy_french_is_french_without_inclusive_forms(self):
        easy = self.langs["facile"]
        self.assertEqual((easy["meta"]["lang"], easy["meta"]["session"]), ("fr", "fr"))
        for section in ("page", "script"):
            for key, text in easy[section].items():
                self.assertNotIn("·", text, key)

    def test_the_skeleton_and_the_script_hold_no_words(self):
        template = read("www", "lang", "page.html")
        body = template[template.index("<body>"):]
        visible = re.sub(r"<[^>]*>|\{\{[a-z0-9.-]+\}\}|\b(17|112|114|3919)\b", " ", body)
        self.assertEqual(visible.split(), [], "text in www/lang/page.html belongs in fr.txt")
        script = read("www", "js", "abri.js")
        strings = re.findall(r"'((?:[^'\\\n]|\\.)*)'", script)
        self.assertEqual([s for s in strings if re.search(r"[A-Za-zÀ-ÿ]{3,} [a-zà-ÿ]{2,} [a-zà-ÿ]{2,}", s)], [],
                         "a sentence in www/js/abri.js: words belong in www/lang/*.txt")

    def test_nginx_serves_neither_the_sources_nor_the_generator(self):
        conf = read("deploy", "nginx", "abri-locations.conf.in")
        self.assertRegex(conf, r"location /lang/ \{\s*return 404;")


class TheChecksBite(unittest.TestCase):
    """Each rule of the generator refuses a file that breaks it."""

    def problems_with(self, edit):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for name in ("fr.txt", "en.txt"):
            shutil.copy(os.path.join(LANG_DIR, name), tmp)
        path = os.path.join(tmp, "en.txt")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        changed = edit(text)
        self.assertNotEqual(changed, text, "the edit changed nothing")
        with open(path, "w", encoding="utf-8") as f:
            f.write(changed)
        with self.assertRaises(generate.LangError) as raised:
            generate.load_all(tmp)
        return str(raised.exception)

    def test_a_missing_key(self):
        self.assertIn("missing typing", self.problems_with(lambda t: re.sub(r"(?m)^typing = .*\n", "", t)))

    def test_an_unknown_key(self):
        self.assertIn("unknown typo", self.problems_with(lambda t: t + "typo = Oops\n"))

    def test_a_sentence_left_in_french(self):
        fr = generate.read_lang(os.path.join(LANG_DIR, "fr.txt"))["page"]["h1"]
        self.assertIn("h1 is still in French", self.problems_with(lambda t: re.sub(r"(?m)^h1 = .*$", "h1 = " + fr, t)))

    def test_a_changed_emergency_number(self):
        self.assertIn("help.17 must keep", self.problems_with(lambda t: t.replace("help.17 = [17]", "help.17 = [18]")))

    def test_a_lost_field(self):
        self.assertIn("chat.title must keep", self.problems_with(lambda t: t.replace("{unit}", "unit")))


if __name__ == "__main__":
    unittest.main()
