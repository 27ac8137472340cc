"""Display names and addresses people can read, from what the sources wrote.

Why: FINESS writes « "CSAPA ""LES WADS"" CMSEA METZ" » or « CTRE DE SOINS INFIRMIERS » — CSV
escaping left in, all capitals, abbreviated. A professional hands that sheet to a person, so names
are shown in French capitalisation with acronyms kept and unambiguous abbreviations expanded. The
source's text is never lost (``nom_source``); this module only derives a display form.

The knowledge (acronyms, abbreviations, street types, accents) lives in ``data/noms/noms.yaml``
and is shared with entity resolution through :func:`jetons` and :func:`cle_comparaison`.
Text that already has lower-case letters was written by a person (an ARS): only its quoting and
spacing are repaired, its capitalisation is kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

TABLES = Path(__file__).resolve().parents[1] / "data" / "noms" / "noms.yaml"
WORD = re.compile(r"([^\W_]+)")
# « 1ER », « 2EME », « 1ERE » : ordinals in French typography (« Albert 1er », « 2e étage »).
ORDINAL = re.compile(r"(\d+)(ERE|ER|EMES|EME|E|NDE|ND)")
ORDINAL_SUFFIXES = {"ER": "er", "ERE": "re", "EME": "e", "EMES": "es", "E": "e", "ND": "d",
                    "NDE": "de"}
VOWELS = set("AEIOUY")
# Words that name a letter or number of a place (« BAT A », « PAVILLON B »): « A » after them
# is that letter, not the preposition « à ».
# Consonants a French (or regional) word may start with; any other start marks an acronym.
FRENCH_ONSETS = {"BL", "BR", "CH", "CHR", "CL", "CR", "DR", "FL", "FR", "GL", "GN", "GR", "KR",
                 "KH", "PH", "PHR", "PL", "PR", "PS", "PT", "RH", "SC", "SCH", "SCHW", "SCHL",
                 "SCHM", "SCHN", "SCHR", "SCR", "SH", "SK", "SL", "SM", "SN", "SP", "SPL", "SPR",
                 "ST", "STR", "SW", "TH", "THR", "TR", "TCH", "TSCH", "VL", "VR", "WH", "ZW"}
LETTER_HOLDERS = {"BAT", "BATIMENT", "PAVILLON", "PAV", "SECTEUR", "UNITE", "BLOC", "ETAGE",
                  "ESCALIER", "ZONE", "SITE", "ANTENNE", "EQUIPE", "GROUPE", "ENTREE", "LOT",
                  "CATEGORIE", "TYPE", "CLASSE", "SALLE", "AILE", "PORTE", "HALL"}


@dataclass(frozen=True)
class Tables:
    """The shared knowledge, keyed by the unaccented capital form sources write."""

    sigles: dict[str, str]
    abreviations: dict[str, str]
    voies: dict[str, str]
    titres: dict[str, str]
    complements: dict[str, str]
    prepositions: frozenset[str]
    articles: frozenset[str]
    mois: frozenset[str]
    mots_en_adresse: frozenset[str]
    accents: dict[str, str]
    en_tete_de_nom: dict[str, str]
    formes_juridiques: frozenset[str]


@cache
def tables() -> Tables:
    """Read once: the tables are small and never change while the service runs."""
    raw = yaml.safe_load(TABLES.read_text(encoding="utf-8"))
    return Tables(
        sigles={str(k): str(v) for k, v in raw["sigles"].items()},
        abreviations={str(k): str(v) for k, v in raw["abreviations"].items()},
        voies={str(k): str(v) for k, v in raw["voies"].items()},
        titres={str(k): str(v) for k, v in raw["titres"].items()},
        complements={str(k): str(v) for k, v in raw["complements"].items()},
        prepositions=frozenset(str(w) for w in raw["prepositions"]),
        articles=frozenset(str(w) for w in raw["articles"]),
        mois=frozenset(str(w) for w in raw["mois"]),
        mots_en_adresse=frozenset(str(w) for w in raw["mots_en_adresse"]),
        accents={str(k): str(v) for k, v in raw["accents"].items()},
        en_tete_de_nom={str(k): str(v) for k, v in raw["en_tete_de_nom"].items()},
        formes_juridiques=frozenset(str(w) for w in raw["formes_juridiques"]),
    )


def sans_accents(texte: str) -> str:
    decomposed = unicodedata.normalize("NFD", texte)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def cle(mot: str) -> str:
    """The form a table is keyed by: capitals without accents."""
    return sans_accents(mot).upper()


def sans_guillemets_csv(texte: str) -> str:
    """Undo CSV quoting left in a value: outer quotes stripped, doubled quotes made single.

    Quotes left afterwards are the source's own (« CSAPA "LES WADS" ») and kept as a pair; an
    unpaired one is dropped. Spacing is collapsed.
    """
    texte = " ".join(texte.split())
    while len(texte) >= 2 and texte[0] == '"' and texte[-1] == '"':
        texte = texte[1:-1].replace('""', '"').strip()
    texte = texte.replace('""', '"')
    if texte.count('"') % 2:
        texte = texte.replace('"', " ")
    return " ".join(texte.split())


def _guillemets(texte: str) -> str:
    """Pairs of straight quotes become French guillemets with their spaces."""
    parts = texte.split('"')
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        if index % 2:
            gap = "" if not out[-1] or out[-1].endswith(" ") else " "
            out.append(f"{gap}« {part.strip()}")
        else:
            gap = "" if not part or part.startswith((" ", ",", ".", ")")) else " "
            out.append(f" »{gap}{part}")
    return "".join(out)


def jetons(texte: str) -> list[str]:
    """The words of a text (letters and digits), as the source wrote them, for comparison keys."""
    return WORD.findall(sans_guillemets_csv(texte))


def developpe(mot: str, *, adresse: bool = False) -> str:
    """An abbreviation's expansion (lower case, accented) or the word itself."""
    t = tables()
    key = cle(mot)
    if key in t.abreviations:
        return t.abreviations[key]
    if adresse and key in t.titres:
        return t.titres[key]
    return mot


def cle_comparaison(texte: str, *, adresse: bool = False) -> str:
    """Lower-case, unaccented words with abbreviations expanded: equal for equal names.

    « CTRE DE SANTE ST JEAN » and « Centre de santé Saint-Jean » give the same key.
    """
    t = tables()
    words = []
    for word in jetons(texte):
        expanded = developpe(word, adresse=adresse)
        if adresse and expanded is word:
            expanded = t.voies.get(cle(word), word)
        words.append(sans_accents(expanded).lower())
    return " ".join(" ".join(words).replace("-", " ").split())


def _acronym(word: str, *, adresse: bool = False) -> str | None:
    """The acronym's display form, or None for an ordinary word."""
    key = cle(word)
    if adresse and key in tables().mots_en_adresse:
        return None
    if key in tables().sigles:
        return tables().sigles[key]
    if ordinal := ORDINAL.fullmatch(key):
        return ordinal.group(1) + ORDINAL_SUFFIXES[ordinal.group(2)]
    if any(c.isdigit() for c in key):
        return key
    if len(key) >= 2 and not VOWELS & set(key):
        return key
    if len(key) <= 6 and not _french_onset(key):
        return key
    return None


def _french_onset(key: str) -> bool:
    """Whether a word starts as a French word can (« CMSEA », « CHTPA » cannot: acronyms)."""
    onset = re.match(r"[^AEIOUY]*", key).group(0)
    return len(onset) <= 1 or onset in FRENCH_ONSETS


def _word(word: str, *, starts: bool, after_link: bool, after_number: bool = False) -> str:
    """One ordinary word in French capitalisation, accents restored."""
    t = tables()
    if len(word) == 1:
        return word.upper()
    lower = t.accents.get(cle(word), word.lower())
    if not starts and (lower in t.prepositions or (after_number and lower in t.mois)
                       or (after_link and lower in t.articles)):
        return lower
    return lower[:1].upper() + lower[1:]


def _sans_points(texte: str) -> tuple[str, set[str]]:
    """Dotted acronyms (« S.E.L.A.R.L. », « M.J.P.M. ») written as one word, and their keys."""
    found: set[str] = set()

    def join(match: re.Match) -> str:
        word = match.group(0).replace(".", "").replace(" ", "")
        trailing = " " if match.group(0).endswith(" ") else ""
        found.add(cle(word))
        return word + trailing

    return re.sub(r"\b(?:[^\W\d_]\. ?){2,}(?:[^\W\d_]\b\.?)?", join, texte), found


def _recase(texte: str, *, adresse: bool) -> str:
    """Recapitalise an all-capitals text word by word, keeping its separators."""
    t = tables()
    texte, dotted = _sans_points(texte)
    pieces = WORD.split(texte)
    words, seps = pieces[1::2], pieces[2::2]
    out: list[str] = [pieces[0]]
    previous_key = previous_display = ""
    number_before = True  # a street type is expanded at the start or after the number
    i = 0
    while i < len(words):
        word, sep = words[i], seps[i]
        key = cle(word)
        following = words[i + 1] if i + 1 < len(words) else None
        before = out[-1]
        starts = i == 0 or before.endswith(('"', "(")) or before.strip() == "-" and before != "-"
        after_link = previous_display in t.prepositions or before == "-"
        if adresse and number_before and key in t.voies and following is not None:
            display = t.voies[key]
            if starts:
                display = display[:1].upper() + display[1:]
            if sep == " " and cle(following) in t.complements and i + 2 < len(words):
                # « 112 R B DE LA CROIX » : the number's complement is written after the type.
                display = f"{t.complements[cle(following)]} {display}"
                i += 1
                sep = seps[i]
        elif adresse and previous_key.isdigit() and key in t.complements and following:
            display = t.complements[key]
        elif (expanded := developpe(word, adresse=adresse)) is not word:
            display = _word(expanded, starts=starts, after_link=after_link)
            if sep.startswith("."):  # « PLANIF.& EDUC. » : the dot goes, a space stays
                rest = sep[1:]
                sep = rest if rest[:1].isspace() or (rest and rest[0] in ",;)/-'") else " " + rest
        elif key in dotted:
            display = key
        elif acronym := _acronym(word, adresse=adresse):
            display = acronym
        elif key in ("D", "L") and following and (sep in ("'", "’") or (
                sep == " " and cle(following)[:1] in VOWELS | {"H"})):
            display = key if starts else key.lower()
            sep = "'"
        elif key == "A" and not starts and following and previous_key not in LETTER_HOLDERS:
            display = "à"
        else:
            display = _word(word, starts=starts, after_link=after_link,
                            after_number=previous_key.isdigit())
        if previous_display in ("Saint", "Sainte") and before == " " and display[:1].isupper() \
                and _acronym(word, adresse=adresse) is None and key not in dotted:
            out[-1] = "-"
        out += [display, sep]
        number_before = key.isdigit() or (number_before and adresse and key in t.complements)
        previous_key, previous_display = key, display
        i += 1
    return "".join(out)


def _finish(texte: str) -> str:
    """Spacing around punctuation as French print has it."""
    texte = re.sub(r"\s+([,.)])", r"\1", texte)
    texte = re.sub(r"(?<=[^\W\d_])\.-(?=[^\W\d_])", "-", texte)  # « MÉDICO.-PSYCHOLOG. »
    texte = re.sub(r"\(\s+", "(", texte)
    texte = re.sub(r"\s*'\s*", "'", texte)
    texte = re.sub(r"\s*/\s*", "/", texte)
    texte = re.sub(r"\s+-\s+|\s+-(?=\w)|(?<=\w)-\s+", " - ", texte)
    texte = re.sub(r"(?<=[^\W\d_])\.(?=[^\W\d_])", ". ", texte)
    return " ".join(texte.split())


def _voie_en_capitales(texte: str) -> str:
    """In an address typed by a person, a street type left abbreviated (« 31 BD de Belfort »)."""
    match = re.match(r"(\d+\s+(?:[^\W\d_]+\s+)?|)([A-Z]+)(?=\s)", texte)
    if match and match.group(2) in tables().voies:
        voie = tables().voies[match.group(2)]
        if not match.group(1):
            voie = voie[:1].upper() + voie[1:]
        return match.group(1) + voie + texte[match.end():]
    return texte


def _display(texte: str | None, *, adresse: bool) -> str:
    if not texte:
        return ""
    clean = sans_guillemets_csv(texte)
    if adresse:  # quotes in an address are leftovers (« "Lieu dit" ""), never a name
        clean = " ".join(clean.replace('"', " ").split())
    if any(c.islower() for c in clean):
        if adresse:
            clean = _voie_en_capitales(clean)
        return _finish(_guillemets(clean))
    return _finish(_guillemets(_recase(clean, adresse=adresse)))


def nom_affichage(texte: str | None) -> str:
    """A source's name as a person should read it (« Centre de Soins Infirmiers »)."""
    return _display(_sans_jargon(sans_guillemets_csv(texte or "")), adresse=False)


def _sans_jargon(texte: str) -> str:
    """A name without the trade's jargon a person cannot read: legal forms dropped when other
    words remain (SELARL, SISA…), a trade acronym at its head spelled out (LBM, CDS, MSP).

    Only words the source wrote in capitals: « Sas » in a typed name is someone's name.
    """
    t = tables()
    words = texte.split()
    kept = [w for w in words if w.strip(",.-") not in t.formes_juridiques]
    if kept and kept != words:
        texte = " ".join(kept)
    for sigle, expansion in t.en_tete_de_nom.items():
        if re.match(rf"{re.escape(sigle)}(?=[\s,.-]|$)", texte):
            rest = texte[len(sigle):]
            if not any(c.islower() for c in texte):
                expansion = sans_accents(expansion).upper()
            elif expansion:
                expansion = expansion[:1].upper() + expansion[1:]
            texte = expansion + rest
            break
    return texte


def adresse_affichage(texte: str | None) -> str:
    """A source's address line as a person should read it (« 2 rue des Capucins »)."""
    return _display(texte, adresse=True)
