"""The audit result as a person reads it in the current language (auditor/i18n.py).

Translated: check titles, rationale and remediation prose, outcome meanings, and the message of every finding made
from an outcome template (`gettext(outcome.message).format(**params)`; a param that is an i18n.Phrase is said in the
language too). Kept as they are: check ids, codes,
commands, object names, evidence, and free-text messages (no params: English, as the check wrote them). Machine
output (findings.json, CSV, JUnit) never goes through here.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any

import pandas as pd

from auditor import i18n
from auditor.engine import AuditResult
from auditor.model import Outcome
from auditor.registry import load_registry
from auditor.render.context import looks_like_command

translate = i18n.gettext  # of values known only at run time (the extractor reads literal msgids only)


@cache
def outcomes_by_code() -> dict[str, Outcome]:
    return {code: outcome for code, (_, outcome) in load_registry().codes().items()}


def prose(text: Any) -> Any:
    """Advice translated; a command (or anything not a string) kept verbatim."""
    if not isinstance(text, str) or not text or looks_like_command(text):
        return text
    return translate(text)


def _filled(template: str, params: dict[str, Any], english: str) -> str:
    """The translated template filled with the finding's values; the English text if the translation is missing
    or does not fit the values (a catalog defect must not lose the finding's message)."""
    translated = translate(template)
    if translated == template and not (template.strip("{}").isidentifier() and any(
            isinstance(v, i18n.Phrase) for v in params.values())):
        # Not translated: the English message, not a mixed one. A template that is one field alone ("{reason}",
        # AA0001, msgstr the same) is the Phrase it holds, said in the language.
        return english
    # A value a check wrote as an i18n.Phrase (a clause with its own template) is said in the language too.
    said = {k: i18n.say(v) if isinstance(v, i18n.Phrase) else v for k, v in params.items()}
    try:
        return translated.format(**said)
    except (KeyError, IndexError, ValueError, AttributeError):
        return english


def message_of(code: str, params: Any, message: str, outcomes: dict[str, Outcome]) -> str:
    outcome = outcomes.get(str(code))
    if isinstance(params, dict) and outcome is not None and outcome.message:
        return _filled(outcome.message, params, message)
    return translate(message) if isinstance(message, str) else message


# A shell comment: a whole line "# ..." or "  # ..." after a command (the text after "# " to the end of the line).
_COMMENT = re.compile(r"(?:^|\s)#\s+(?=\S)(.*)$")


def comments_said(text: Any) -> Any:
    """`text` with each shell comment the catalog holds (a msgid marked N_() where the command is written, e.g.
    "keep it: do not delete it") said in the language: a comment is advice to the reader, bash ignores it, and the
    command itself is kept as written. A comment the catalog does not hold (an istioctl version) stays."""
    if not isinstance(text, str) or "#" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        found = _COMMENT.search(line)
        if found and (said := translate(found.group(1))) != found.group(1):
            line = line[:found.start(1)] + said
        lines.append(line)
    return "\n".join(lines)


def remediation_of(code: str, params: Any, remediation: str, outcomes: dict[str, Outcome]) -> str:
    return comments_said(_remediation_of(code, params, remediation, outcomes))


def _remediation_of(code: str, params: Any, remediation: str, outcomes: dict[str, Outcome]) -> str:
    outcome = outcomes.get(str(code))
    if (isinstance(params, dict) and outcome is not None and "{" in outcome.fix
            and isinstance(remediation, str) and not looks_like_command(remediation)):
        return _filled(outcome.fix, params, remediation)
    if isinstance(remediation, str) and "\n" in remediation and not looks_like_command(remediation):
        # Advice followed by its commands (AA1235: the outcome's fix, then the command that moves the app): each
        # line said as prose() says it, so the advice the catalog holds is translated and the commands kept.
        return "\n".join(prose(line) for line in remediation.split("\n"))
    return prose(remediation)


def _findings(frame: pd.DataFrame, outcomes: dict[str, Outcome]) -> pd.DataFrame:
    if frame.empty:
        return frame
    params = frame["params"] if "params" in frame else pd.Series([None] * len(frame), index=frame.index)
    codes = frame["code"].astype(str)
    titles = {t: translate(t) for t in frame["title"].astype(str).unique()}
    return frame.assign(
        title=frame["title"].astype(str).map(titles),
        message=[message_of(c, p, m, outcomes) for c, p, m in zip(codes, params, frame["message"], strict=True)],
        remediation=[remediation_of(c, p, r, outcomes)
                     for c, p, r in zip(codes, params, frame["remediation"], strict=True)],
    )


def _check_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "title": translate(meta.get("title") or ""), "rationale": prose(meta.get("rationale")),
            "remediation": prose(meta.get("remediation")),
            "outcomes": [{**o, "meaning": translate(o.get("meaning") or "")} for o in meta.get("outcomes", [])]}


def localized(result: AuditResult, outcomes: dict[str, Outcome] | None = None) -> AuditResult:
    """`result` for the human reports in the current language (the same object in English). `outcomes`: the
    declared outcomes by code (default: the registry's, engine outcomes included)."""
    if i18n.current() == i18n.DEFAULT_LANG:
        return result
    table = outcomes_by_code() if outcomes is None else outcomes
    return dataclasses.replace(result, findings=_findings(result.findings, table),
                               checks=[_check_meta(m) for m in result.checks],
                               notes=[i18n.say(n) for n in result.notes])
