"""Readability of each card's editorial text and of its « Facile à lire » version.

Why: the easy version must be measurably easier to read, not only shorter. The scores are
textstat's French ones: Flesch reading ease in its French form (Kandel & Moles 1958:
207 − 1,015 × words per sentence − 73,6 × syllables per word; higher is easier, 60–70 is
« standard », above 80 « easy »), words per sentence, and LIX (language-independent, lower
is easier). The Markdown is reduced to its sentences first (a list item is one sentence).

    .venv/bin/python benchmarks/lisibilite.py
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import textstat

ROOT = Path(__file__).resolve().parent.parent
TAXONOMIE = ROOT / "data" / "taxonomie"
sys.path.insert(0, str(ROOT))

from maps.facile import texte_facile  # noqa: E402


@dataclass(frozen=True)
class Scores:
    flesch_fr: float
    mots_par_phrase: float
    lix: float


def sentences(markdown: str) -> str:
    """Plain text from our Markdown: headings and list items become sentences of their own."""
    lines = []
    for line in markdown.splitlines():
        line = re.sub(r"^\s*(#+|[-*])\s*", "", line).strip()
        if line:
            lines.append(line if line[-1] in ".!?:;" else line + ".")
    return re.sub(r"[;:](\s|$)", r".\1", " ".join(lines))


def scores(markdown: str) -> Scores:
    textstat.set_lang("fr")
    text = sentences(markdown)
    return Scores(textstat.flesch_reading_ease(text), textstat.words_per_sentence(text),
                  textstat.lix(text))


def card_scores() -> dict[str, tuple[Scores, Scores]]:
    """Per card: (editorial text, easy version)."""
    result = {}
    for editorial in sorted((TAXONOMIE / "editorial").glob("*.md")):
        facile = texte_facile(TAXONOMIE / "facile", editorial.stem)
        if facile is not None:
            result[editorial.stem] = (scores(editorial.read_text(encoding="utf-8")),
                                      scores(facile.texte))
    return result


def main() -> None:
    print("| Carte | Flesch FR (texte) | Flesch FR (facile) | Mots/phrase (texte) | "
          "Mots/phrase (facile) | LIX (texte) | LIX (facile) |")
    print("|---|---|---|---|---|---|---|")
    for slug, (texte, facile) in card_scores().items():
        print(f"| {slug} | {texte.flesch_fr:.1f} | {facile.flesch_fr:.1f} | "
              f"{texte.mots_par_phrase:.1f} | {facile.mots_par_phrase:.1f} | "
              f"{texte.lix:.1f} | {facile.lix:.1f} |")


if __name__ == "__main__":
    main()
