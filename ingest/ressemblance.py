"""How much a source record looks like an existing offer, and the evidence, in French.

Why points rather than one fuzzy ratio: a name alone misleads (the national file has many
« PHARMACIE DU CENTRE »; a CATTP and a CMP share a building, a phone and half their words),
and a street-level position (what a geocoder gives without the number) is 60–300 m off. So
the name — compared on :mod:`ingest.cles` keys, each word weighted by how rare it is, the
communes' names counted as qualifiers — gives most of the score, and each piece of evidence
beyond it adds or takes points: same street address, same phone, closeness, same commune for
a row placed at its commune only. A merge also needs the name to agree (``NAME_MIN``):
address, phone and place support a name, they never replace it.

Hand-set points rather than a trained record-linkage model (splink, recordlinkage): each
decision must be explained to an ARS editor in a sentence, and the labelled set built by
``benchmarks/rapprochement.py`` checks them (docs/fusion-et-jeux.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz

from ingest import cles

NAME_POINTS = 0.7
NAME_MIN = 0.75  # below it, no merge whatever the other evidence
QUALIFIER_WEIGHT = 0.02  # a commune's name in a service's name (« CMP adultes Épinal »)
SAME_ADDRESS, SAME_STREET, OTHER_ADDRESS = 0.25, 0.15, -0.1
SAME_PHONE = 0.25
CLOSENESS = ((60, 0.25), (150, 0.2), (300, 0.15), (500, 0.05))
FAR = -0.1
SAME_COMMUNE, NEIGHBOUR_COMMUNE = 0.2, 0.05


@dataclass(frozen=True)
class Fiche:
    """What is compared of one side: a staged record or an existing offer."""

    nom: str | None
    adresse: str | None
    telephones: frozenset[str]
    commune: str | None


@dataclass(frozen=True)
class Ressemblance:
    """The score, the name's part of it, whether the evidence allows a merge or is worth a
    person's look (never for two kinds of service), and why."""

    score: float
    nom: float
    fusionnable: bool
    proposable: bool
    preuves: tuple[str, ...]

    def raison(self) -> str:
        return f"{', '.join(self.preuves)} → score {self.score:.2f}"


def phones(contacts: list[dict] | None) -> frozenset[str]:
    return frozenset(d for c in contacts or [] if c.get("type") == "telephone"
                     and (d := cles.phone_digits(c.get("valeur"))))


def _token_match(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)):
        return 0.9  # FINESS cuts long names (« REMIREMO » for « REMIREMONT »)
    if min(len(a), len(b)) >= 5:
        ratio = fuzz.ratio(a, b) / 100
        if ratio >= 0.85:
            return ratio
    return 0.0


def name_similarity(a: list[str], b: list[str], weight: Callable[[str], float],
                    qualifiers: frozenset[str]) -> float:
    """0–1: the weighted share of each name's words found in the other, the lower share
    counting most (a word added on one side — « CSM du CPEF » — is a different service more
    often than a qualifier; qualifiers and generic words weigh little anyway)."""
    if not a or not b:
        return 0.0

    def w(word: str) -> float:
        return weight(word) * (QUALIFIER_WEIGHT if word in qualifiers else 1.0)

    def covered(left: list[str], right: list[str]) -> float:
        total = sum(w(x) for x in left)
        found = sum(w(x) * max(_token_match(x, y) for y in right) for x in left)
        return found / total if total else 0.0

    low, high = sorted((covered(a, b), covered(b, a)))
    return 0.65 * low + 0.35 * high


def _address_evidence(a: str | None, b: str | None) -> tuple[float, str | None]:
    if not a or not b:
        return 0.0, None
    (number_a, street_a), (number_b, street_b) = cles.address_key(a), cles.address_key(b)
    if not street_a or not street_b:
        return 0.0, None
    if fuzz.token_set_ratio(street_a, street_b) < 90:
        return OTHER_ADDRESS, "autre adresse"
    if number_a and number_b:
        if number_a == number_b:
            return SAME_ADDRESS, f"même adresse ({number_a} {street_a})"
        return OTHER_ADDRESS, f"même voie, autre numéro ({number_a} / {number_b})"
    return SAME_STREET, f"même voie ({street_a})"


def _place_evidence(distance_m: float | None, same_commune: bool) -> tuple[float, str]:
    if distance_m is None:
        if same_commune:
            return SAME_COMMUNE, "même commune (lieu donné par la commune seule)"
        return NEIGHBOUR_COMMUNE, "commune voisine (lieu donné par la commune seule)"
    for limit, points in CLOSENESS:
        if distance_m <= limit:
            return points, f"à {distance_m:.0f} m"
    return FAR, f"à {distance_m:.0f} m"


def compare(record: Fiche, offer: Fiche, *, distance_m: float | None, same_commune: bool,
            weights: Callable[[str], float]) -> Ressemblance:
    """The score (0–1) of ``record`` being ``offer``, and the evidence used.

    ``distance_m`` is None when one side is placed at its commune only: the commune then
    stands for the place (``same_commune`` or a neighbour), not the distance to its centre.
    """
    qualifiers = frozenset(w for c in (record.commune, offer.commune) if c
                           for w in cles.name_tokens(c))
    tokens_r, tokens_o = cles.name_tokens(record.nom), cles.name_tokens(offer.nom)
    name = name_similarity(tokens_r, tokens_o, weights, qualifiers)
    proofs = [f"nom {name:.2f}"]
    total = NAME_POINTS * name
    address_points, proof = _address_evidence(record.adresse, offer.adresse)
    total += address_points
    if proof:
        proofs.append(proof)
    shared = record.telephones & offer.telephones
    if shared:
        total += SAME_PHONE
        proofs.append(f"même téléphone {min(shared)}")
    points, proof = _place_evidence(distance_m, same_commune)
    total += points
    proofs.append(proof)
    mergeable = name >= NAME_MIN
    if not mergeable:
        proofs.append(f"noms trop différents pour fusionner (< {NAME_MIN:.2f})")
    kinds_r, kinds_o = cles.kinds(tokens_r), cles.kinds(tokens_o)
    other_kind = bool(kinds_r and kinds_o and not kinds_r & kinds_o)
    if other_kind:
        mergeable = False
        proofs.append(f"autres types de service ({' '.join(sorted(kinds_r))} / "
                      f"{' '.join(sorted(kinds_o))})")
    placed = shared or address_points > 0 or (distance_m is not None and distance_m <= 60)
    if mergeable and not placed and not (cles.distinctive(tokens_r)
                                         and cles.distinctive(tokens_o)):
        mergeable = False
        proofs.append("nom générique : il faut aussi la même adresse, la même voie, le même "
                      "téléphone ou moins de 60 m")
    # Rounded as shown: the reason read by a person and the decision agree.
    return Ressemblance(round(max(0.0, min(1.0, total)), 2), round(name, 2), mergeable,
                        not other_kind, tuple(proofs))
