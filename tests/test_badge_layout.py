"""PDF page 1: the verdict badge holds its whole word and the headline starts after the badge, for every verdict
(issue 17, item 4: "INCOMPLETE" was seen cut to "INCOMPL"). The word is found in the text layer with its box
(pdftotext -bbox-layout), the badge in the rendered pixels: finding the word in the text proves nothing, the
running header prints it too and clipped text stays in the text layer."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from PIL import Image

from auditor import i18n
from auditor.render import html
from tests.test_render_html_pdf import audit_scene

WORD_BOX = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
BADGE_PADDING_PT = 14  # print.css .verdict-big
GAP_PT = 12  # print.css .p1-headline padding-left


class Box(NamedTuple):
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    word: str


def page_one_words(pdf: Path) -> list[Box]:
    xml = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox-layout", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [Box(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in WORD_BOX.findall(xml)]


def page_one_pixels(pdf: Path, tmp_path: Path) -> Image.Image:
    """Page 1 at 72 dpi: one pixel per point, so text-layer coordinates address pixels directly."""
    subprocess.run(["pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf),
                    str(tmp_path / "page1")], check=True)
    return Image.open(tmp_path / "page1.png").convert("RGB")


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize(("verdict", "scene"), [
    ("GO", {"phase": "setup", "state": "Init"}),
    ("NO-GO", {"phase": "uninstall"}),
    ("INCOMPLETE", {"phase": "setup", "asm": False}),
])
def test_badge_word_is_whole_and_ends_before_the_headline(tmp_path: Path, verdict: str, scene: dict[str, object],
                                                          lang: str) -> None:
    result = audit_scene(tmp_path / "scene", **scene)
    assert result.verdict.value == verdict
    with i18n.language(lang):
        pdf = html.render_pdf(result, tmp_path / "out")
    words = page_one_words(pdf)
    # The badge word is the tallest box with the verdict (the running header prints it small); the verdict word
    # stays as it is in zh-CN too (it is what CI and the exit code say).
    badge = max((w for w in words if w.word == verdict), key=lambda w: w.y_max - w.y_min)
    assert badge.y_max - badge.y_min > 20, badge  # 22pt type: the badge, not the header
    # The headline: the leftmost other word whose middle lies on the badge's band, right of where the badge begins
    # (so a headline drawn over the badge is found too; the labels above and below the badge are not).
    beside = [w for w in words if w is not badge and badge.y_min <= (w.y_min + w.y_max) / 2 <= badge.y_max
              and w.x_min > badge.x_min]
    headline = min(beside, key=lambda w: w.x_min)
    # The headline begins after the badge's right padding and the gap, not over or against the word.
    assert headline.x_min - badge.x_max >= BADGE_PADDING_PT + GAP_PT - 2, (badge, headline)

    pixels = page_one_pixels(pdf, tmp_path)
    row = int(badge.y_min) - 2  # in the badge's top padding, above the white letters
    colour = pixels.getpixel((int(badge.x_min) - 4, row))
    assert colour != (255, 255, 255), "no badge colour left of the word"
    # The badge's colour runs past the word's last letter: the word is inside the badge, not cut at its edge.
    for x in range(int(badge.x_min) - 4, int(badge.x_max) + BADGE_PADDING_PT - 3):
        assert pixels.getpixel((x, row)) == colour, (x, badge)
    assert pixels.getpixel((int(headline.x_min) - 2, row)) == (255, 255, 255), "the headline starts inside the badge"
