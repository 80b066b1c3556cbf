#!/usr/bin/env python3
"""Writes the victims' page in every language: `make pages`.

Reads www/lang/page.html (the page, with {{key}} where words go) and one
www/lang/XX.txt per language (see README.md in this directory), and writes,
for each language XX:

  www/XX/index.html   the page, every word in XX (French: www/index.html)
  www/js/words-XX.js  the words the script writes (window.abriWords)

The served pages are plain files, committed: nothing runs at request time.
`generate.py --check` writes nothing and fails when a written page would
differ, or when a language file is wrong (tests/integration/test_languages.py).
Python 3 standard library only.
"""
import html
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WWW = os.path.dirname(HERE)
REFERENCE = 'fr'           # holds every key; served at /
META = ('lang', 'session', 'dir', 'name')
SECTIONS = ('meta', 'page', 'script')
# [17] bold number; [tel:17] [sms:114] a link that calls or texts it.
NUMBER_MARK = re.compile(r'\[(?:(tel|sms):)?(17|112|114|3919)\]')
TEMPLATE_KEY = re.compile(r'\{\{([a-z0-9.-]+)\}\}')
# French typography: the space before : ; ? ! » and after « does not break.
# Names another language may keep as they are in French.
SAME_EVERYWHERE = {'Police', 'Gendarmerie', 'SMS', 'Police nationale', 'Gendarmerie nationale'}
FRENCH_SPACE = re.compile(r' (?=[:;?!»])|(?<=«) ')


class LangError(Exception):
    pass


def read_lang(path):
    """{section: {key: text}} from a `key = text` file."""
    sections = {s: {} for s in SECTIONS}
    current = None
    with open(path, encoding='utf-8') as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            where = '%s:%d' % (os.path.basename(path), n)
            if not line or line.startswith('#'):
                continue
            if line.startswith('[') and line.endswith(']'):
                current = line[1:-1]
                if current not in sections:
                    raise LangError('%s: unknown section [%s]' % (where, current))
                continue
            key, eq, text = line.partition('=')
            key, text = key.strip(), text.strip()
            if not eq or not key or not text or current is None:
                raise LangError('%s: expected "key = text" inside a [section]' % where)
            if key in sections[current]:
                raise LangError('%s: %s given twice' % (where, key))
            sections[current][key] = text
    return sections


def languages(lang_dir):
    """Language ids (file names), the reference first, then in name order."""
    ids = sorted(f[:-4] for f in os.listdir(lang_dir) if f.endswith('.txt'))
    return [REFERENCE] + [i for i in ids if i != REFERENCE]


def fixed_parts(text):
    """What a translation keeps: the numbers, the [marks] and the {fields}."""
    return set(re.findall(r'\d+|\[[a-z:0-9]+\]|\{[a-z]+\}', text))


def problems_of(lang_id, secs, ref):
    """What is wrong in one language file, compared with the reference."""
    found = []
    for s in SECTIONS:
        missing = sorted(set(ref[s]) - set(secs[s]))
        extra = sorted(set(secs[s]) - set(ref[s]))
        if missing:
            found.append('%s.txt [%s]: missing %s' % (lang_id, s, ', '.join(missing)))
        if extra:
            found.append('%s.txt [%s]: unknown %s' % (lang_id, s, ', '.join(extra)))
    if secs['meta'].get('dir') not in ('ltr', 'rtl'):
        found.append('%s.txt: dir must be ltr or rtl' % lang_id)
    french = secs['meta'].get('lang') == 'fr'
    for s in ('page', 'script'):
        for key in sorted(set(ref[s]) & set(secs[s])):
            text, ref_text = secs[s][key], ref[s][key]
            if fixed_parts(text) != fixed_parts(ref_text):
                found.append('%s.txt: %s must keep exactly %s' % (
                    lang_id, key, ' '.join(sorted(fixed_parts(ref_text))) or 'no number, [mark] or {field}'))
            if not french and lang_id != REFERENCE and text == ref_text and text not in SAME_EVERYWHERE:
                found.append('%s.txt: %s is still in French' % (lang_id, key))
    return found


def load_all(lang_dir=HERE):
    """{id: sections} of every language, once every file is right."""
    read = {i: read_lang(os.path.join(lang_dir, i + '.txt')) for i in languages(lang_dir)}
    # French first, then easy French, then the others.
    all_langs = dict(sorted(read.items(), key=lambda kv: (kv[0] != REFERENCE, kv[1]['meta'].get('lang') != 'fr')))
    ref = all_langs[REFERENCE]
    problems = []
    for lang_id, secs in all_langs.items():
        problems += problems_of(lang_id, secs, ref)
    if problems:
        raise LangError('\n'.join(problems))
    return all_langs


def page_path(lang_id):
    return 'index.html' if lang_id == REFERENCE else lang_id + '/index.html'


def words_path(lang_id):
    return 'js/words-%s.js' % lang_id


def typeset(secs, text):
    return FRENCH_SPACE.sub('\u00a0', text) if secs['meta']['lang'] == 'fr' else text


def number(m):
    scheme, num = m.group(1), m.group(2)
    bold = '<b>%s</b>' % num
    return '<a href="%s:%s">%s</a>' % (scheme, num, bold) if scheme else bold


def page_text(secs, key):
    """A text of the page, as HTML: escaped, then its numbers marked."""
    text = secs['page'].get(key, secs['script'].get(key))
    if text is None:
        raise LangError('www/lang/page.html uses {{%s}}, which fr.txt lacks' % key)
    out = NUMBER_MARK.sub(number, html.escape(typeset(secs, text), quote=True))
    return out.replace('{unit}', '<bdi id="unit-name"></bdi>')


def language_list(all_langs, lang_id):
    """The links to every language, each named in itself."""
    root = '' if lang_id == REFERENCE else '../'
    items = []
    for other, secs in all_langs.items():
        meta = secs['meta']
        href = root + ('' if other == REFERENCE else other + '/')
        current = ' aria-current="page"' if other == lang_id else ''
        items.append('  <a href="%s" lang="%s" hreflang="%s"%s>%s</a>' % (
            href or './', meta['lang'], meta['lang'], current, html.escape(meta['name'])))
    return '\n'.join(items)


def render_page(template, all_langs, lang_id):
    secs = all_langs[lang_id]
    fixed = {
        'lang': secs['meta']['lang'], 'dir': secs['meta']['dir'], 'id': lang_id,
        'root': '' if lang_id == REFERENCE else '../',
        'language-list': language_list(all_langs, lang_id),
    }
    return TEMPLATE_KEY.sub(lambda m: fixed[m.group(1)] if m.group(1) in fixed
                            else page_text(secs, m.group(1)), template)


def render_words(all_langs, lang_id):
    secs = all_langs[lang_id]
    words = {k: typeset(secs, v) for k, v in secs['script'].items()}
    words['lang'] = secs['meta']['session']
    body = json.dumps(words, ensure_ascii=False, sort_keys=True, indent=0)
    return ('/* GENERATED by `make pages` from www/lang/%s.txt: edit that file. */\n'
            'window.abriWords = %s;\n' % (lang_id, body))


def outputs():
    """{path under www/: content} of every generated file."""
    all_langs = load_all()
    with open(os.path.join(HERE, 'page.html'), encoding='utf-8') as f:
        template = f.read()
    out = {}
    for lang_id in all_langs:
        out[page_path(lang_id)] = render_page(template, all_langs, lang_id)
        out[words_path(lang_id)] = render_words(all_langs, lang_id)
    return out


def stale(out):
    """The generated files whose committed copy differs."""
    bad = []
    for rel, content in sorted(out.items()):
        try:
            with open(os.path.join(WWW, rel), encoding='utf-8') as f:
                if f.read() == content:
                    continue
        except FileNotFoundError:
            pass
        bad.append(rel)
    return bad


def main():
    try:
        out = outputs()
    except LangError as e:
        sys.exit(str(e))
    if sys.argv[1:] == ['--check']:
        bad = stale(out)
        if bad:
            sys.exit('out of date (run `make pages`): ' + ', '.join('www/' + b for b in bad))
        return
    for rel in stale(out):
        path = os.path.join(WWW, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(out[rel])
        print('  GEN www/' + rel)


if __name__ == '__main__':
    main()
