"""The translation catalog: extract every msgid and merge it into each language's .po (README, "Translating").

    python -m auditor.i18n_catalog            # re-extract, update auditor/locale/*/LC_MESSAGES/asm_audit.po
    python -m auditor.i18n_catalog --check    # exit 1 and list what has no translation

Four sources, one catalog:
- code: `_()`, `gettext()`, `ngettext()`, `plural()` and `N_()` calls in auditor/ and checks/ (Babel's Python
  extractor);
- templates: `_()` / `ngettext()` in reports/templates/*.j2 (Jinja2's Babel extractor);
- the check registry: every check's title, rationale and remediation prose, every outcome's meaning and prose
  fix, and every outcome's message template (the finding messages), engine outcomes included.
- the CAB plan: the prose of every gate's change and back-out plan (auditor/render/changes.py).
Commands (a remediation that starts with kubectl, istioctl, ...) are not prose and are never extracted.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from auditor import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None,
            "plural": (2, 3)}  # auditor.render.counts.plural(n, one, many): ngettext with the count first
METHODS = [("auditor/**.py", "python"), ("checks/**.py", "python"),
           ("reports/templates/**.j2", "jinja2.ext:babel_extract")]
TEMPLATE_OPTIONS = {"reports/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                                "lstrip_blocks": "true"}}
TEMPLATE_FLAG = "message-template"  # a msgid that is an Outcome.message (see tests/test_i18n.py)


@dataclass(frozen=True)
class Message:
    msgid: str | tuple[str, str]
    where: str
    template: bool = False  # an Outcome.message template, filled in per finding
    context: str | None = None


def _is_prose(text: str) -> bool:
    from auditor.render.context import looks_like_command

    return bool(text and text.strip()) and not looks_like_command(text)


def registry_messages() -> Iterator[Message]:
    """Check metadata and outcomes, from the registry the engine runs (plugins included, when installed)."""
    from auditor.check import ENGINE_OUTCOMES
    from auditor.registry import load_registry

    outcomes = [("engine", o) for o in ENGINE_OUTCOMES]
    for cls in load_registry().ordered():
        for attr in ("title", "rationale", "remediation"):
            text = getattr(cls, attr, "")
            if attr != "remediation" or _is_prose(text):
                yield Message(text, f"{cls.id}.{attr}")
        outcomes += [(cls.id, o) for o in cls.outcomes]
    for owner, outcome in outcomes:
        yield Message(outcome.meaning, f"{owner} {outcome.code} meaning")
        if _is_prose(outcome.fix):
            yield Message(outcome.fix, f"{owner} {outcome.code} fix")
        if outcome.message:
            yield Message(outcome.message, f"{owner} {outcome.code} message", template=True)


def change_plan_messages() -> Iterator[Message]:
    """The CAB plan's prose (auditor/render/changes.py CHANGES): what each gate's step changes and how to back out."""
    from auditor.render.changes import CHANGES

    for gate, change in CHANGES.items():
        for attr in ("creates", "changes", "deletes", "undo_before", "undo_after", "irreversible"):
            for text in getattr(change, attr):
                yield Message(text, f"changes {gate}.{attr}")


def code_messages() -> Iterator[Message]:
    """`_()` & co. in the code and the templates."""
    for filename, _lineno, msgid, _comments, context in extract_from_dir(
            str(ROOT), METHODS, TEMPLATE_OPTIONS, keywords=KEYWORDS, strip_comment_tags=True):
        if msgid and (msgid if isinstance(msgid, str) else msgid[0]):
            yield Message(msgid, filename, context=context)


def extract() -> Catalog:
    """Every msgid (the .pot), locations as comments; Outcome.message templates flagged."""
    catalog = Catalog(domain=i18n.DOMAIN, project="asm-audit", charset="utf-8")
    for message in [*code_messages(), *registry_messages(), *change_plan_messages()]:
        if not message.msgid:
            continue
        flags = [TEMPLATE_FLAG] if message.template else []
        key = message.msgid if isinstance(message.msgid, str) else message.msgid[0]
        existing = catalog.get(key, context=message.context)
        if existing is not None:
            if isinstance(existing.id, tuple) != isinstance(message.msgid, tuple):
                # gettext keys a plural by its singular: "cluster" and ngettext("cluster", ...) cannot both be
                # translated. Say one of them with pgettext (a context) instead.
                raise ValueError(f"{key!r} is both a plain and a plural msgid ({message.where}); give one a context")
            existing.locations.append((message.where, None))
            existing.flags.update(flags)
            continue
        catalog.add(message.msgid, locations=[(message.where, None)], flags=flags, context=message.context)
    return catalog


def update(lang: str) -> Catalog:
    """Merge the extracted msgids into `lang`'s .po: translations kept, new msgids empty, gone ones dropped."""
    path = i18n.catalog_path(lang)
    template = extract()
    before = path.read_bytes() if path.exists() else None
    if path.exists():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=i18n.LANGS[lang], domain=i18n.DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=i18n.LANGS[lang], domain=i18n.DOMAIN, project="asm-audit", charset="utf-8")
    previous_date = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=True)
    catalog.fuzzy = False  # the header: a fuzzy header is dropped by msgfmt, and with it the plural forms
    catalog.last_translator = "asm-audit maintainers"
    catalog.language_team = "Simplified Chinese" if lang == "zh-CN" else lang
    for message in catalog:  # the flag follows the template (a msgid may stop or start being one)
        if message.id:
            source = template.get(message.id, context=message.context)
            flagged = TEMPLATE_FLAG in (source.flags if source else set())
            message.flags.discard(TEMPLATE_FLAG)
            if flagged:
                message.flags.add(TEMPLATE_FLAG)
    # Nothing but the date would change: leave the file as it is (a new POT-Creation-Date on every run was a diff
    # of its own in every commit that re-extracted).
    new_date, catalog.creation_date = catalog.creation_date, previous_date
    if before is None or _po_bytes(catalog) != before:
        catalog.creation_date = new_date
        path.write_bytes(_po_bytes(catalog))
    i18n.translations.cache_clear()
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=120, ignore_obsolete=True, sort_output=False, include_previous=False)
    return out.getvalue()


def untranslated(catalog: Catalog) -> list[str]:
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    missing_total = 0
    for lang in i18n.LANGS:
        if lang == i18n.DEFAULT_LANG:
            continue
        if check:
            with i18n.catalog_path(lang).open("rb") as fh:
                catalog = read_po(fh, locale=i18n.LANGS[lang])
            stale = {m.id for m in extract() if m.id} - {m.id for m in catalog if m.id}
            stale = {s if isinstance(s, str) else s[0] for s in stale}
            missing = untranslated(catalog) + sorted(str(s) for s in stale)
        else:
            catalog = update(lang)
            missing = untranslated(catalog)
        missing_total += len(missing)
        print(f"{lang}: {len(catalog)} msgids, {len(missing)} without a translation", file=sys.stderr)
        for msgid in missing[:50]:
            print(f"  {msgid[:110]}", file=sys.stderr)
    return 1 if check and missing_total else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
