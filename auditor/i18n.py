"""Report languages (`--lang en|zh-CN`): gettext catalogs read with Babel, dates and numbers formatted by Babel.

The catalog is auditor/locale/<locale>/LC_MESSAGES/asm_audit.po; it is compiled in memory when first used, so
there is no .mo to rebuild or to fall out of step. The language is a context variable set around rendering
(`with language("zh-CN"): ...`): human output (terminal, HTML, PDF, summary.md) reads it; machine output
(findings.json, CSV, JUnit) never does. `python -m auditor.i18n_catalog` re-extracts the msgids (README,
"Translating").
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from auditor.errors import UsageError

DOMAIN = "asm_audit"
LOCALE_DIR = Path(__file__).parent / "locale"
# --lang value -> Babel/gettext locale. English is the source language: it has no catalog.
LANGS: dict[str, str] = {"en": "en", "zh-CN": "zh_CN"}
DEFAULT_LANG = "en"

_current: ContextVar[str] = ContextVar("asm_audit_lang", default=DEFAULT_LANG)


def parse_lang(text: str) -> str:
    """The --lang value as one of LANGS ('zh_CN', 'zh-cn' and 'zh' say zh-CN); anything else is a usage error."""
    key = text.strip().replace("_", "-").lower()
    for lang in LANGS:
        if key == lang.lower():
            return lang
    if key in ("zh", "zh-hans", "zh-hans-cn"):
        return "zh-CN"
    raise UsageError(f"unknown language {text!r} for --lang; choose one of: {', '.join(LANGS)}")


def lang_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The default --lang from the POSIX locale variables (LC_ALL, then LC_MESSAGES, then LANG).

    A Chinese locale (zh_CN.UTF-8, zh_SG, zh) reads zh-CN; anything else, unset or C/POSIX, reads English.
    """
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (env.get(name) or "").strip()
        if value:  # the first one set decides, as in setlocale(3)
            return "zh-CN" if value.lower().startswith("zh") else DEFAULT_LANG
    return DEFAULT_LANG


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / LANGS[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of `lang` (English: the identity). Fuzzy entries are left out, as msgfmt does."""
    if lang == DEFAULT_LANG:
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=LANGS[lang], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def current() -> str:
    return _current.get()


@contextmanager
def language(lang: str) -> Iterator[str]:
    """Human output inside this block is in `lang`."""
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """`message` in the current language (itself when English or not translated)."""
    if not message:
        return message
    return translations(current()).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` as said in `context` (the same English word can need two translations, or be a plural elsewhere)."""
    return translations(current()).pgettext(context, message)


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown."""
    return message


class Phrase(str):
    """English text (what findings.json and logs carry) that keeps its template and values, so that a terminal or a
    report can say it in the reader's language: `say(phrase)`. The template must be marked with N_()."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Phrase:
        phrase = super().__new__(cls, template.format(**params))
        phrase.template, phrase.params = template, params
        return phrase


def problem_of(exc: BaseException) -> str:
    """An exception's reason as it was raised: the Phrase given to it (said in the reader's language where a message
    carries it), else its text. `str(exc)` would make a Phrase plain English."""
    reason = exc.args[0] if len(exc.args) == 1 else None
    return reason if isinstance(reason, Phrase) else str(exc)


def joined(separator: str, parts: Iterable[str]) -> Phrase:
    """`parts` joined by `separator` as one Phrase: say() says each Phrase among them in the reader's language and
    keeps the other parts (an address, a name) as written. Its template is no msgid (it is never translated)."""
    items = list(parts)
    between = separator.replace("{", "{{").replace("}", "}}")
    return Phrase(between.join(f"{{p{i}}}" for i in range(len(items))), **{f"p{i}": p for i, p in enumerate(items)})


def say(text: str) -> str:
    """`text` in the current language: a Phrase through its template (a value that is itself a Phrase said too),
    other text as a msgid (itself when the catalog does not hold it, e.g. read back from a file)."""
    if not isinstance(text, Phrase):
        return gettext(text)
    return gettext(text.template).format(**{k: say(v) if isinstance(v, Phrase) else v for k, v in text.params.items()})


def format_number(value: float | int, decimals: int = 0) -> str:
    """A count or amount with the locale's grouping and decimal signs."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LANGS[current()])


def format_timestamp(text: str) -> str:
    """The report's ISO timestamp for people: unchanged in English (it is what findings.json says), the locale's
    long date and time in other languages (2026年12月5日 21:43:00 UTC)."""
    if current() == DEFAULT_LANG or not text:
        return text
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    from babel.dates import format_date

    zone = "UTC" if moment.utcoffset() in (None, dt.timedelta(0)) else moment.strftime("%z")
    return f"{format_date(moment.date(), 'long', locale=LANGS[current()])} {moment.strftime('%H:%M:%S')} {zone}"
