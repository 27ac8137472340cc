"""Comparison keys for entity resolution: what two spellings of one service have in common.

Why: people type the same service many ways — « CTRE MEDICO PSYCHOLOGIQUE ST JEAN »,
« cmp saint-jean », « "C.M.P. de Saint Jean" » — and the merge must see one name. The base key
is the display-name normaliser's (``cartographie.noms.cle_comparaison``: case, accents, CSV
quoting, abbreviations and street types from ``data/noms/noms.yaml``); on top of it, for
comparison only, acronyms of kinds of service are written out (CMP and « centre
médico-psychologique » give the same words), stop words are dropped, and generic or legal
words (association, centre, pharmacie, SELARL…) weigh little (:class:`Weights`): they cannot
decide alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from cartographie import noms

# Acronyms the display keeps (``noms`` sigles) but that people also write out in full.
ACRONYMS = {
    "lbm": "laboratoire", "labm": "laboratoire", "lab": "laboratoire", "labos": "laboratoires",
    "phcie": "pharmacie", "pharm": "pharmacie", "cent": "centre",
    "cmp": "centre medico psychologique", "cmpp": "centre medico psycho pedagogique",
    "cattp": "centre accueil therapeutique temps partiel",
    "csapa": "centre soins accompagnement prevention addictologie",
    "caarud": "centre accueil accompagnement reduction risques usagers drogues",
    "cjc": "consultation jeunes consommateurs",
    "cegidd": "centre gratuit information depistage diagnostic",
    "cpef": "centre planification education familiale", "css": "centre sante sexuelle",
    "pmi": "protection maternelle infantile", "msp": "maison sante pluriprofessionnelle",
    "cds": "centre sante", "cms": "centre medico social", "csi": "centre soins infirmiers",
    "ch": "centre hospitalier", "chu": "centre hospitalier universitaire",
    "chr": "centre hospitalier regional", "chru": "centre hospitalier regional universitaire",
    "chs": "centre hospitalier specialise", "chi": "centre hospitalier intercommunal",
    "clin": "clinique", "ces": "centre examens sante",
    "bapu": "bureau aide psychologique universitaire", "mda": "maison adolescents",
    "mss": "maison sport sante", "sumpps": "service universitaire medecine preventive",
    "dept": "departemental", "intercom": "intercommunal", "univ": "universitaire",
}
STOP_WORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "et", "en", "a", "au",
                        "aux", "pour", "sur", "sous", "par", "chez", "lès", "lez"})
# Words that say what kind of organisation, not which one: they weigh little in a name.
GENERIC_WORDS = frozenset({
    "association", "centre", "pharmacie", "laboratoire", "laboratoires", "maison", "sante",
    "service", "services", "consultation", "consultations", "cabinet", "hopital",
    "hospitalier", "clinique", "medical", "medicale", "medico", "social", "sociale",
    "pluriprofessionnelle", "pluridisciplinaire", "biologie", "analyses", "site", "antenne",
    "unite", "pole", "groupe", "groupement", "multisite", "mutualiste",
})
# Words that name a kind of service: two names of different kinds are two services (a
# pharmacy is not the maison de santé next door, a CJC not its CSAPA); they weigh as generic.
KIND_WORDS = frozenset({
    "pharmacie", "laboratoire", "laboratoires", "dentaire", "clinique", "hopital",
    "hospitalier", "planification", "psychologique", "pedagogique", "therapeutique",
    "pluriprofessionnelle", "infirmiers", "infirmier", "addictologie", "consommateurs",
    "vaccination", "radiologie", "imagerie", "kinesitherapie", "ophtalmologie", "dialyse",
    "maternelle", "examens", "sexuelle", "mentale", "sante",
})
# Legal forms say nothing of which service it is: added or dropped at will.
LEGAL_FORMS = frozenset({"selarl", "selas", "selafa", "selurl", "sarl", "sas", "sasu", "snc",
                         "eurl", "scp", "scm", "sa", "sisa", "sel", "gie", "gcs", "ei"})
GENERIC_WEIGHT, LEGAL_WEIGHT = 0.15, 0.02
# Street types are often mistyped (« rue » for « avenue »): the street's own words decide.
STREET_TYPES = frozenset(w for v in noms.tables().voies.values()
                         for w in noms.cle_comparaison(v).split())
NUMBER = re.compile(r"^(\d+)\s*(bis|ter|quater|b|t|q|a)?\b\s*")
NUMBER_SUFFIX = {"bis": "b", "ter": "t", "quater": "q"}
PO_BOX = re.compile(r"\b(bp|cs|tsa)\s*\d+\b|\bcedex\b( \d+)?")


def name_tokens(name: str | None) -> list[str]:
    """The words of a name's comparison key: long forms, no stop words."""
    words = []
    for word in noms.cle_comparaison(name or "").split():
        words.extend(ACRONYMS.get(word, word).split())
    return [w for w in words if w not in STOP_WORDS]


def address_key(address: str | None) -> tuple[str | None, str]:
    """(number, street words) of an address line: « 12 bis, Av. du Gal Leclerc » → (« 12b »,
    « general leclerc »); the street type and a PO box are left out."""
    value = PO_BOX.sub(" ", noms.cle_comparaison(address or "", adresse=True))
    match = NUMBER.match(value)
    number = None
    if match:
        number = match.group(1) + NUMBER_SUFFIX.get(match.group(2) or "", match.group(2) or "")
        value = value[match.end():]
    words = [w for w in value.split() if w not in STOP_WORDS and w not in STREET_TYPES]
    return number, " ".join(words)


def phone_digits(value: str | None) -> str | None:
    """The 10 national digits of a French phone number, or None."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if len(digits) == 10 and digits.startswith("0") else None


class Weights:
    """How much each word of a name tells: rarer words say more (inverse document frequency
    over the offers' names), generic and legal words little whatever their frequency.

    ``frequencies``: how many names hold each word as written (counted set-based in SQL);
    each is read through the same long forms as :func:`name_tokens`.
    """

    def __init__(self, total: int, frequencies: Iterable[tuple[str, int]]):
        counts: Counter[str] = Counter()
        for word, count in frequencies:
            for token in name_tokens(word):
                counts[token] += count
        self._idf = {w: math.log((total + 1) / (min(c, total) + 1)) + 1
                     for w, c in counts.items()}
        self._unseen = math.log(total + 1) + 1

    @classmethod
    def of_names(cls, names: list[str]) -> Weights:
        """From a list of names (tests, small sets)."""
        counts: Counter[str] = Counter()
        for name in names:
            counts.update(set(noms.cle_comparaison(name).split()))
        return cls(len(names), counts.items())

    def __call__(self, word: str) -> float:
        weight = self._idf.get(word, self._unseen)
        if word in LEGAL_FORMS:
            return weight * LEGAL_WEIGHT
        generic = word in GENERIC_WORDS or word in KIND_WORDS
        return weight * GENERIC_WEIGHT if generic else weight


def kinds(tokens: Iterable[str]) -> frozenset[str]:
    """The kind-of-service words of a name's key, singular (« infirmiers » = « infirmier »)."""
    return frozenset(t.rstrip("sx") for t in tokens if t in KIND_WORDS)


def distinctive(tokens: Iterable[str]) -> list[str]:
    """The words that say which service, not what kind (empty: a generic name such as
    « centre de planification »)."""
    return [t for t in tokens if t not in GENERIC_WORDS and t not in KIND_WORDS
            and t not in LEGAL_FORMS]
