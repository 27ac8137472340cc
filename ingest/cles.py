"""Comparison keys: what two spellings of one service's name or address have in common.

Why: people type the same service many ways — « CTRE MEDICO PSYCHOLOGIQUE ST JEAN »,
« cmp saint-jean », « C.M.P. de Saint Jean » — and the merge must see one name. A key folds
case, accents, punctuation and CSV artefacts (quotes, doubled spaces, « ; » left in a cell),
writes every abbreviation in its long form (so CMP and « centre médico-psychologique » give
the same words), and drops stop words. Generic and legal words (association, centre,
pharmacie, SELARL…) stay in the key but weigh little (``weights``): they cannot decide alone.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

# Abbreviation → long form, for names and addresses. Acronyms of kinds of service expand to
# their words so that the short and the long spelling compare as equal.
ABBREVIATIONS = {
    "CTRE": "CENTRE", "CENT": "CENTRE", "CTR": "CENTRE",
    "ST": "SAINT", "STE": "SAINTE", "STS": "SAINTS",
    "LBM": "LABORATOIRE", "LABM": "LABORATOIRE", "LABO": "LABORATOIRE",
    "LABOS": "LABORATOIRES", "LAB": "LABORATOIRE",
    "PHIE": "PHARMACIE", "PHCIE": "PHARMACIE", "PHARM": "PHARMACIE", "PHARMA": "PHARMACIE",
    "CMP": "CENTRE MEDICO PSYCHOLOGIQUE",
    "CMPP": "CENTRE MEDICO PSYCHO PEDAGOGIQUE",
    "CATTP": "CENTRE ACCUEIL THERAPEUTIQUE TEMPS PARTIEL",
    "CSAPA": "CENTRE SOINS ACCOMPAGNEMENT PREVENTION ADDICTOLOGIE",
    "CAARUD": "CENTRE ACCUEIL ACCOMPAGNEMENT REDUCTION RISQUES USAGERS DROGUES",
    "CJC": "CONSULTATION JEUNES CONSOMMATEURS",
    "CEGIDD": "CENTRE GRATUIT INFORMATION DEPISTAGE DIAGNOSTIC",
    "CPEF": "CENTRE PLANIFICATION EDUCATION FAMILIALE",
    "CSS": "CENTRE SANTE SEXUELLE",
    "PMI": "PROTECTION MATERNELLE INFANTILE",
    "MSP": "MAISON SANTE PLURIPROFESSIONNELLE",
    "CDS": "CENTRE SANTE", "CMS": "CENTRE MEDICO SOCIAL",
    "CH": "CENTRE HOSPITALIER", "CHU": "CENTRE HOSPITALIER UNIVERSITAIRE",
    "CHR": "CENTRE HOSPITALIER REGIONAL", "CHS": "CENTRE HOSPITALIER SPECIALISE",
    "CHI": "CENTRE HOSPITALIER INTERCOMMUNAL", "HOP": "HOPITAL",
    "CLIN": "CLINIQUE", "POLYCLIN": "POLYCLINIQUE",
    "CES": "CENTRE EXAMENS SANTE", "BAPU": "BUREAU AIDE PSYCHOLOGIQUE UNIVERSITAIRE",
    "MDA": "MAISON ADOLESCENTS", "MSS": "MAISON SPORT SANTE",
    "SCE": "SERVICE", "SERV": "SERVICE", "CONSULT": "CONSULTATION",
    "ASSO": "ASSOCIATION", "ASS": "ASSOCIATION", "ASSOC": "ASSOCIATION",
    "DEPT": "DEPARTEMENTAL", "DEP": "DEPARTEMENTAL", "REG": "REGIONAL",
    "INTERCOM": "INTERCOMMUNAL", "UNIV": "UNIVERSITAIRE",
    "DR": "DOCTEUR", "PR": "PROFESSEUR", "GAL": "GENERAL", "GEN": "GENERAL",
    "MAL": "MARECHAL", "PDT": "PRESIDENT", "PRES": "PRESIDENT", "CDT": "COMMANDANT",
    "NTRE": "NOTRE", "N": "NOTRE",
    # streets (FINESS writes them short, people long, or the reverse)
    "R": "RUE", "AV": "AVENUE", "AVE": "AVENUE", "BD": "BOULEVARD", "BLD": "BOULEVARD",
    "BOUL": "BOULEVARD", "PL": "PLACE", "CHE": "CHEMIN", "CHEM": "CHEMIN", "RTE": "ROUTE",
    "IMP": "IMPASSE", "ALL": "ALLEE", "FG": "FAUBOURG", "FBG": "FAUBOURG", "QU": "QUAI",
    "QUA": "QUAI", "SQ": "SQUARE", "RES": "RESIDENCE", "CRS": "COURS", "PROM": "PROMENADE",
    "PASS": "PASSAGE", "LOT": "LOTISSEMENT", "ZA": "ZONE ACTIVITE", "ZI": "ZONE INDUSTRIELLE",
    "ZAC": "ZONE AMENAGEMENT CONCERTE", "CTRE-VILLE": "CENTRE VILLE", "RPT": "ROND POINT",
    "HAM": "HAMEAU", "LD": "LIEU DIT", "PRV": "PARVIS", "ESP": "ESPLANADE", "VLA": "VILLA",
    "CITE": "CITE", "GR": "GRANDE", "GDE": "GRANDE", "PT": "PETIT", "PTE": "PETITE",
    "BP": "", "CS": "", "CEDEX": "",
}
STOP_WORDS = frozenset({
    "DE", "DU", "DES", "LA", "LE", "LES", "L", "D", "ET", "EN", "A", "AU", "AUX", "POUR",
    "SUR", "SOUS", "PAR", "UN", "UNE", "DANS", "CHEZ",
})
# Words that say what kind of organisation, not which one: they weigh little in a name.
GENERIC_WORDS = frozenset({
    "ASSOCIATION", "CENTRE", "PHARMACIE", "LABORATOIRE", "LABORATOIRES", "MAISON", "SANTE",
    "SERVICE", "SERVICES", "CONSULTATION", "CONSULTATIONS", "CABINET", "HOPITAL",
    "HOSPITALIER", "CLINIQUE", "MEDICAL", "MEDICALE", "MEDICO", "SOCIAL", "SOCIALE",
    "PLURIPROFESSIONNELLE", "PLURIDISCIPLINAIRE", "BIOLOGIE", "ANALYSES", "ANALYSE", "SITE",
    "ANTENNE", "UNITE", "POLE", "GROUPE", "GROUPEMENT", "MULTISITE", "SELARL", "SELAS",
    "SELAFA", "SARL", "SAS", "SASU", "SNC", "EURL", "SCP", "SCM", "SA", "SISA", "SEL",
    "SELEURL", "GIE", "GCS", "EI",
})
GENERIC_WEIGHT = 0.15
# Street numbers carry their repetition suffix: « 12 B », « 12BIS » → « 12B ».
NUMBER_SUFFIX = re.compile(r"\b(\d+)\s*(BIS|TER|QUATER|B|T|Q|A)\b")
SUFFIX_LETTER = {"BIS": "B", "TER": "T", "QUATER": "Q"}
STREET_WORDS = frozenset({
    "RUE", "AVENUE", "BOULEVARD", "PLACE", "CHEMIN", "ROUTE", "IMPASSE", "ALLEE", "FAUBOURG",
    "QUAI", "SQUARE", "COURS", "PROMENADE", "PASSAGE", "RESIDENCE", "LOTISSEMENT", "ZONE",
    "ROND", "POINT", "HAMEAU", "LIEU", "DIT", "PARVIS", "ESPLANADE", "VILLA", "CITE", "VOIE",
    "SENTE", "SENTIER", "TRAVERSE", "MONTEE", "ACTIVITE", "INDUSTRIELLE",
})


def folded(value: str | None) -> str:
    """Upper case, no accents, letters and digits only: « L'Église, "Bât. A" » → « L EGLISE
    BAT A ». Œ/Æ become OE/AE; quotes, semicolons and doubled spaces left by CSV go."""
    value = (value or "").replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae")
    value = unicodedata.normalize("NFKD", value.replace("Æ", "AE").upper())
    value = "".join(c for c in value if unicodedata.category(c) != "Mn")
    value = re.sub(r"(?<=[A-Z])\.(?=[A-Z]\b)", "", value)  # C.M.P. → CMP.
    value = re.sub(r"\b([A-Z])\.(?=[A-Z])", r"\1", value)
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", value).split())


def _expanded(words: Iterable[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        out.extend(ABBREVIATIONS.get(word, word).split())
    return out


def name_tokens(name: str | None) -> list[str]:
    """The words of a name's comparison key, abbreviations long, stop words dropped."""
    return [w for w in _expanded(folded(name).split()) if w not in STOP_WORDS]


def name_key(name: str | None) -> str:
    """« Ctre médico-psychologique de St-Dié » and « CMP ST DIE » → one key."""
    return " ".join(name_tokens(name))


def address_parts(address: str | None) -> tuple[str | None, str]:
    """(number, street key) of an address line: « 12 bis, Av. du Gal Leclerc » →
    (« 12B », « AVENUE GENERAL LECLERC »). A line without a number gives (None, street)."""
    value = NUMBER_SUFFIX.sub(lambda m: m.group(1) + SUFFIX_LETTER.get(m.group(2), m.group(2)),
                              folded(address))
    words = [w for w in _expanded(value.split()) if w not in STOP_WORDS]
    number = None
    if words and re.fullmatch(r"\d+[A-Z]?", words[0]):
        number = words.pop(0)
    return number, " ".join(words)


def street_name(street: str) -> str:
    """The distinctive part of a street key (« RUE » and « AVENUE » are often mistyped)."""
    return " ".join(w for w in street.split() if w not in STREET_WORDS)


def phone_digits(value: str | None) -> str | None:
    """The 10 national digits of a French phone number, or None."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if len(digits) == 10 and digits.startswith("0") else None


class Weights:
    """How much each word of a name tells: rarer words say more (inverse document frequency
    over the offers' names), generic and legal words little whatever their frequency."""

    def __init__(self, names: Iterable[str | None]):
        counts: Counter[str] = Counter()
        total = 0
        for name in names:
            counts.update(set(name_tokens(name)))
            total += 1
        self._idf = {w: math.log((total + 1) / (c + 1)) + 1 for w, c in counts.items()}
        self._unseen = math.log(total + 1) + 1

    def __call__(self, word: str) -> float:
        weight = self._idf.get(word, self._unseen)
        return weight * GENERIC_WEIGHT if word in GENERIC_WORDS else weight
