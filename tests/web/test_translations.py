"""The Korean translation: every catalogue entry is translated and not fuzzy, the committed .mo says
what the .po says (a fresh machine needs no gettext), and the pages speak Korean when asked to."""

import gettext
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

SIGN_IN_TITLE_KO = "Preflight에 로그인"  # "Sign in to Preflight"


# --- A small .po reader (standard library only) ------------------------------------------------


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # a singular entry's msgstr is form 0
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return ", ".join(self.references) or f"{PO_PATH.name}:{self.line}"

    def __str__(self) -> str:
        return f"{self.msgid!r} ({self.where})"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str, lineno: int) -> str:
    text = text.strip()
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"{PO_PATH.name}:{lineno}: expected a quoted string, got {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """Entries in file order, the header (msgid "") first; obsolete (#~) entries are left out. An
    entry ends at a blank line, or where a comment, msgctxt or msgid follows its msgstr."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None  # the field a continuation line extends

    def current(lineno: int, *, new: bool) -> Entry:
        nonlocal entry
        if entry is None or (new and entry.msgstr):
            entry = Entry(line=lineno)
            entries.append(entry)
        return entry

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
        elif line.startswith("#~"):
            continue
        elif line.startswith("#"):
            target = None
            this = current(lineno, new=True)
            if line.startswith("#,"):
                this.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            elif line.startswith("#:"):
                this.references.extend(line[2:].split())
        elif line.startswith('"'):
            if entry is None or target is None:
                raise ValueError(f"{path.name}:{lineno}: continuation line outside a field")
            name, form = target
            if name == "msgstr":
                entry.msgstr[form] += _unquote(line, lineno)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line, lineno))
        else:
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line)
            if not match:
                raise ValueError(f"{path.name}:{lineno}: cannot read {raw!r}")
            keyword, form, value = match.group(1), int(match.group(2) or 0), _unquote(match.group(3), lineno)
            this = current(lineno, new=keyword in ("msgctxt", "msgid"))
            if keyword == "msgstr":
                this.msgstr[form] = value
            else:
                setattr(this, keyword, value)
            target = (keyword, form)
    return entries


def header_fields(header: Entry) -> dict[str, str]:
    fields = {}
    for line in header.msgstr.get(0, "").splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa%])")


def placeholders(text: str) -> list[str]:
    return sorted(f"{name or ''}:{conversion}" for name, conversion in _PLACEHOLDER.findall(text) if conversion != "%")


@pytest.fixture(scope="module")
def catalogue() -> tuple[Entry, list[Entry]]:
    assert PO_PATH.exists(), f"{PO_PATH} is missing: run makemessages -l ko"
    entries = parse_po(PO_PATH)
    assert entries and entries[0].msgid == "" and entries[0].msgctxt is None, "the .po has no header entry"
    return entries[0], entries[1:]


# --- (a) The catalogue is complete ------------------------------------------------------------


def test_the_header_declares_korean_utf8_and_one_plural_form(catalogue):
    header, _ = catalogue
    fields = header_fields(header)
    assert fields.get("Language") == "ko"
    assert "charset=UTF-8" in fields.get("Content-Type", "")
    assert fields.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    assert "fuzzy" not in header.flags, "the header is marked fuzzy: msgfmt would drop it and its charset"


def test_every_entry_is_translated_and_none_is_fuzzy(catalogue):
    _, entries = catalogue
    assert entries, "the catalogue has no entries"
    fuzzy = [str(entry) for entry in entries if "fuzzy" in entry.flags]
    untranslated = [
        str(entry) for entry in entries if not entry.msgstr or any(not text for text in entry.msgstr.values())
    ]
    problems = [f"fuzzy: {e}" for e in fuzzy] + [f"untranslated: {e}" for e in untranslated]
    assert not problems, f"{len(problems)} entries need a translator:\n" + "\n".join(problems)


def test_plural_entries_have_exactly_the_one_korean_form(catalogue):
    _, entries = catalogue
    wrong = [
        f"{entry}: forms {sorted(entry.msgstr)}"
        for entry in entries
        if entry.msgid_plural is not None and sorted(entry.msgstr) != [0]
    ]
    assert not wrong, "plural entries must have msgstr[0] only (nplurals=1):\n" + "\n".join(wrong)


def test_translations_keep_the_placeholders_and_the_markup(catalogue):
    _, entries = catalogue
    wrong = []
    for entry in entries:
        for text in entry.msgstr.values():
            if "python-format" in entry.flags:
                # Named placeholders must match; a plural may drop an unnamed count, never a name.
                expected = placeholders(entry.msgid_plural or entry.msgid)
                if placeholders(text) != expected:
                    wrong.append(f"{entry}: placeholders {placeholders(text)} != {expected}")
            tags = sorted(re.findall(r"</?[a-zA-Z][^>]*>", entry.msgid))
            if sorted(re.findall(r"</?[a-zA-Z][^>]*>", text)) != tags:
                wrong.append(f"{entry}: HTML tags differ from the msgid")
    assert not wrong, "\n".join(wrong)


# --- (b) The compiled catalogue is there and current -------------------------------------------


def test_the_compiled_catalogue_exists_and_matches_the_po(catalogue):
    """File times are no guide after a git checkout, so the .mo is read and compared with the .po:
    a .po edited without running compilemessages fails here."""
    _, entries = catalogue
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run manage.py compilemessages -l ko"
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in entries:
        if "fuzzy" in entry.flags or not entry.msgstr.get(0):
            continue
        if entry.msgid_plural is not None:
            got = (
                compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                if entry.msgctxt is not None
                else compiled.ngettext(entry.msgid, entry.msgid_plural, 1)
            )
        else:
            got = (
                compiled.pgettext(entry.msgctxt, entry.msgid)
                if entry.msgctxt is not None
                else compiled.gettext(entry.msgid)
            )
        if got != entry.msgstr[0]:
            stale.append(str(entry))
    hint = f"{MO_PATH.name} is older than {PO_PATH.name}: run manage.py compilemessages -l ko. It differs for:"
    assert not stale, "\n".join([hint, *stale])


def test_msgfmt_accepts_the_po():
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext (msgfmt) is not installed; the .mo comparison above still ran")
    result = subprocess.run(
        [msgfmt, "--check", "-o", "/dev/null", str(PO_PATH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_translatable_string_of_the_code_is_in_the_catalogue(tmp_path):
    """makemessages, run on a copy of the project, finds no string the committed catalogue lacks:
    a new {% translate %} or gettext() without its Korean fails here, not on a Korean page."""
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext (xgettext) is not installed; the catalogue's own entries were still checked")
    base = Path(settings.BASE_DIR)
    ignored = shutil.ignore_patterns(".venv", ".git", "staticfiles", "screenshots", "node_modules", "__pycache__")
    copy = tmp_path / "project"
    shutil.copytree(base, copy, ignore=ignored, symlinks=True)
    command = [sys.executable, "manage.py", "makemessages", "-l", "ko", "--ignore=tests", "--ignore=staticfiles"]
    result = subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    extracted = {(e.msgctxt, e.msgid) for e in parse_po(copy / PO_PATH.relative_to(base)) if e.msgid}
    committed = {(e.msgctxt, e.msgid) for e in parse_po(PO_PATH) if e.msgid}
    missing = sorted(msgid for _context, msgid in extracted - committed)
    assert not missing, "run makemessages -l ko and translate: " + "; ".join(repr(m) for m in missing)


# --- (c, d) The pages speak Korean --------------------------------------------------------------


@pytest.mark.django_db
def test_the_sign_in_page_is_korean_when_the_browser_asks_for_it(client):
    response = client.get(reverse("web:sign-in"), HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 200
    content = response.content.decode()
    assert SIGN_IN_TITLE_KO in content
    assert "Sign in to Preflight" not in content
    assert '<html lang="ko">' in content


@pytest.mark.django_db
def test_the_sign_in_page_stays_english_by_default(client):
    response = client.get(reverse("web:sign-in"), HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    assert "Sign in to Preflight" in content
    assert SIGN_IN_TITLE_KO not in content


@pytest.mark.django_db
def test_choosing_korean_sets_the_language_cookie_and_the_pages_follow_it(client):
    sign_in = reverse("web:sign-in")
    response = client.post(reverse("set_language"), {"language": "ko", "next": sign_in}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response.url == sign_in
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"

    # The browser still prefers English; the cookie wins.
    content = client.get(sign_in, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert SIGN_IN_TITLE_KO in content
    assert "Sign in to Preflight" not in content
