"""Entity resolution measured on labelled pairs built from the real national offers.

Why: « is this row an offer we already have? » must be answered right for the rows ARS
teams really send. This script takes real FINESS offers of several régions and retypes them
the ways people type (case, accents, abbreviations expanded or shortened, « de » inserted,
qualifiers added or dropped, CSV artefacts, address retyped, phone written another way),
placed at the address (5–60 m off), at the street (60–300 m off) or given by their commune
only. Beside these true duplicates it builds true distinct offers: the real FINESS pairs of
distinct establishments at one position, real neighbours of the same kind 60–500 m apart
(the twin is retired inside the evaluation's transaction, so the row is a new offer that must
not land on its neighbour), and other services at the same address.

Each région's rows go through the ARS import (dry run: its « doublon de l'offre N » answers)
and, as records of a national list, through the national merge (``ingest.merge.attach``);
everything is rolled back. It prints precision and recall for both and lists every error.

Prerequisite: a base with the national FINESS file (``cartographie init`` then
``cartographie ingest finess ../shared/data/finess/finess-etalab-20210108-fhir.ndjson.gz``).

    .venv/bin/python benchmarks/rapprochement.py [--regions 44,76,84,52] [--positifs 120]
        [--graine 14] [--jeu jeu.csv]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, text

from cartographie.db import database_url, make_engine
from cartographie.geocodage import GeocodeurLocal
from cartographie.settings import get_settings
from ingest import cles, publish
from ingest import contributions as ars
from ingest.runner import RunReport, stage

COLUMNS = ["identifiant", "nom", "cartes", "adresse", "code_postal", "code_commune",
           "latitude", "longitude", "telephone"]
# How people write the words FINESS shortens, and the reverse (an ARS file may be short too).
LONG_FORMS = {
    "CTRE": "Centre", "ST": "Saint", "STE": "Sainte", "LBM": "Laboratoire de biologie médicale",
    "CMP": "Centre médico-psychologique", "CMPP": "Centre médico-psycho-pédagogique",
    "MSP": "Maison de santé pluriprofessionnelle", "CH": "Centre hospitalier",
    "CHU": "Centre hospitalier universitaire", "CDS": "Centre de santé",
    "CSAPA": "Centre de soins, d'accompagnement et de prévention en addictologie",
    "PHIE": "Pharmacie", "LABO": "Laboratoire", "HOP": "Hôpital", "DR": "Docteur",
}
SHORT_FORMS = {"CENTRE": "Ctre", "SAINT": "St", "SAINTE": "Ste", "PHARMACIE": "Phie",
               "LABORATOIRE": "Labo", "HOPITAL": "Hôp.", "DOCTEUR": "Dr",
               "CENTRE MEDICO PSYCHOLOGIQUE": "CMP", "CENTRE DE SANTE": "CDS",
               "MAISON DE SANTE PLURIPROFESSIONNELLE": "MSP", "CENTRE HOSPITALIER": "CH"}
ACCENTED = {"SANTE": "santé", "MEDICO": "médico", "MEDICAL": "médical", "EGLISE": "église",
            "HOPITAL": "hôpital", "ETUDIANTS": "étudiants", "PREVENTION": "prévention",
            "ADULTES": "adultes", "GENERAL": "général", "REPUBLIQUE": "république"}
STREET_LONG = {"R": "rue", "AV": "avenue", "BD": "boulevard", "PL": "place", "CHE": "chemin",
               "RTE": "route", "IMP": "impasse", "ALL": "allée", "FG": "faubourg", "QU": "quai",
               "SQ": "square", "GAL": "Général", "ST": "Saint", "STE": "Sainte",
               "MAL": "Maréchal", "PDT": "Président"}
LEGAL = ("SELARL", "SARL", "SAS", "SELAS", "EURL", "ASSOCIATION")
OTHER_SERVICES = ("Atelier nutrition", "Permanence d'aide à l'arrêt du tabac",
                  "Groupe de marche", "Point écoute jeunes", "Consultation diététique",
                  "Espace sport santé", "Permanence santé sexuelle", "Atelier mémoire",
                  "Café des aidants", "Atelier équilibre et prévention des chutes")


@dataclass
class Case:
    """One labelled row: what kind of case it is, the values, the offer it is (or None)."""

    kind: str
    values: dict[str, str]
    expected: int | None
    anchor: int
    retire: int | None = None
    notes: list[str] = field(default_factory=list)


def offset(lon: float, lat: float, rng: random.Random, low: float, high: float):
    """A point ``low``–``high`` metres from (lon, lat) in a random direction."""
    distance, angle = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(angle) / 111_320
    dlon = distance * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def retype_name(name: str, commune: str, rng: random.Random, notes: list[str]) -> str:
    words = name.split()
    text_value = " ".join(words)
    roll = rng.random()
    upper = text_value.upper()
    if roll < 0.2:
        for short, long in SHORT_FORMS.items():
            if f" {short} " in f" {upper} " and rng.random() < 0.8:
                upper = f" {upper} ".replace(f" {short} ", f" {long.upper()} ", 1).strip()
                notes.append(f"abrégé {short}")
    elif roll < 0.4:
        for short, long in LONG_FORMS.items():
            if short in upper.split() and rng.random() < 0.8:
                upper = " ".join(long.upper() if w == short else w for w in upper.split())
                notes.append(f"développé {short}")
    text_value = upper
    if rng.random() < 0.3 and len(text_value.split()) >= 2:
        first, rest = text_value.split(" ", 1)
        if not rest.startswith(("DE ", "DU ", "DES ", "D ")):
            text_value = f"{first} DE {rest}"
            notes.append("« de » inséré")
    if rng.random() < 0.25:
        if text_value.split()[0] in LEGAL:
            text_value = text_value.split(" ", 1)[1]
            notes.append("forme juridique retirée")
        elif text_value.startswith("PHARMACIE"):
            text_value = f"SELARL {text_value}"
            notes.append("forme juridique ajoutée")
    if rng.random() < 0.25:
        kept = text_value[: -len(commune)].split()
        if (text_value.upper().endswith(commune.upper())
                and len([w for w in kept if w not in ("DE", "DU", "D")]) >= 3):
            text_value = text_value[: -len(commune)].strip(" -")
            notes.append("commune retirée")
        else:
            text_value = f"{text_value} - {commune}"
            notes.append("commune ajoutée")
    style = rng.random()
    if style < 0.3:
        text_value = text_value.title()
        notes.append("casse titre")
    elif style < 0.55:
        text_value = " ".join(ACCENTED.get(w, w.capitalize() if i == 0 else w.lower())
                              for i, w in enumerate(text_value.split()))
        notes.append("minuscules accentuées")
    if rng.random() < 0.1:
        text_value = f' "{text_value}"  '
        notes.append("guillemets CSV")
    return text_value


def retype_address(address: str, rng: random.Random, drop_number: bool) -> str:
    words = address.split()
    if drop_number and words and words[0][:1].isdigit():
        words = words[1:]
    words = [STREET_LONG.get(w, w) for w in words] if rng.random() < 0.7 else words
    value = " ".join(words)
    return value.title() if rng.random() < 0.5 else value


def retype_phone(phone: str, rng: random.Random) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return rng.choice([digits, f"+33 {digits[1]} {digits[2:4]} {digits[4:6]} {digits[6:8]} "
                               f"{digits[8:]}", ".".join(digits[i:i + 2] for i in range(0, 10, 2)),
                       phone])


def place(values: dict[str, str], offer, rng: random.Random, mode: str, notes: list[str],
          address_from=None) -> None:
    """Position the row as a geocoder would: at the address, at the street, or the commune."""
    address_row = address_from or offer
    notes.append(f"position {mode}")
    if mode == "commune":
        values["code_commune"] = offer.code_commune
        return
    lon, lat = offset(address_row.lon, address_row.lat, rng,
                      *((5, 60) if mode == "adresse" else (60, 300)))
    values["latitude"], values["longitude"] = f"{lat:.6f}", f"{lon:.6f}"
    if address_row.adresse and rng.random() < 0.8:
        values["adresse"] = retype_address(address_row.adresse, rng, mode == "voie"
                                           and rng.random() < 0.6)
        values["code_postal"] = address_row.code_postal or ""


def duplicate_row(offer, rng: random.Random, kind: str, mode: str, expected: int | None,
                  retire: int | None = None, anchor: int | None = None) -> Case:
    notes: list[str] = []
    values = {"nom": retype_name(offer.nom, offer.commune, rng, notes), "cartes": "depistage"}
    place(values, offer, rng, mode, notes)
    phone = next((c["valeur"] for c in offer.contacts or [] if c["type"] == "telephone"), None)
    if phone and rng.random() < 0.4:
        values["telephone"] = retype_phone(phone, rng)
        notes.append("téléphone")
    return Case(kind, values, expected, anchor or offer.id, retire, notes)


OFFERS = """
    SELECT o.id, o.nom, o.adresse, o.code_postal, o.code_commune, o.contacts, k.nom AS commune,
           ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat, o.attributs->>'categorie_finess' AS cat
    FROM offre o JOIN commune k ON k.code = o.code_commune
    WHERE o.statut = 'publiee' AND o.code_region = :region AND o.geom IS NOT NULL
"""


def build_cases(connection: Connection, region: str, positives: int,
                rng: random.Random) -> tuple[list[Case], list[int]]:
    """The labelled rows of a région, and the homonym pairs at one place left out."""
    seed = rng.random()
    offers = connection.execute(text(OFFERS + " ORDER BY md5(o.id::text || :seed) LIMIT :n"),
                                {"region": region, "seed": str(seed), "n": positives}).all()
    modes = ["adresse", "voie", "commune"]
    cases = [duplicate_row(o, rng, "doublon", modes[i % 3], o.id) for i, o in enumerate(offers)]
    used = {o.id for o in offers}
    skipped: list[int] = []
    # Real distinct establishments at one position (the national file has many).
    twins = connection.execute(text(f"""
        SELECT a.id AS anchor, a.nom AS anchor_nom, b.* FROM offre a
        JOIN LATERAL ({OFFERS} AND o.id <> a.id AND ST_DWithin(o.geom, a.geom, 0.00005)
              AND o.structure_id IS DISTINCT FROM a.structure_id LIMIT 1) b ON true
        WHERE a.statut = 'publiee' AND a.code_region = :region AND a.geom IS NOT NULL
        ORDER BY md5(a.id::text || :seed) LIMIT :n
    """), {"region": region, "seed": str(seed), "n": positives // 3}).all()
    neighbours = connection.execute(text(f"""
        SELECT a.id AS anchor, a.nom AS anchor_nom, b.* FROM offre a
        JOIN LATERAL ({OFFERS} AND o.id <> a.id
              AND o.attributs->>'categorie_finess' = a.attributs->>'categorie_finess'
              AND ST_DWithin(o.geom::geography, a.geom::geography, 500)
              AND NOT ST_DWithin(o.geom::geography, a.geom::geography, 60) LIMIT 1) b ON true
        WHERE a.statut = 'publiee' AND a.code_region = :region AND a.geom IS NOT NULL
        ORDER BY md5(a.id::text || :seed || 'voisine') LIMIT :n
    """), {"region": region, "seed": str(seed), "n": positives // 3}).all()
    for i, row in enumerate(list(twins) + list(neighbours)):
        if row.id in used or row.anchor in used:
            continue
        if cles.name_tokens(row.nom) == cles.name_tokens(row.anchor_nom):
            # homonyms at one place: nothing in a row can tell them apart; left out, counted
            skipped.append(row.id)
            continue
        used |= {row.id, row.anchor}
        kind = "même position" if i < len(twins) else "voisine même catégorie"
        cases.append(duplicate_row(row, rng, kind, modes[i % 3], None, retire=row.id,
                                   anchor=row.anchor))
    hosts = connection.execute(text(OFFERS + " ORDER BY md5(o.id::text || :seed) DESC LIMIT :n"),
                               {"region": region, "seed": str(seed), "n": positives // 3}).all()
    for i, host in enumerate(hosts):
        if host.id in used:
            continue
        used.add(host.id)
        notes: list[str] = []
        name = rng.choice(OTHER_SERVICES)
        if rng.random() < 0.5:
            name = f"{name} - {host.commune}"
        values = {"nom": name, "cartes": "nutrition"}
        place(values, host, rng, ("adresse", "commune")[i % 2], notes)
        phone = next((c["valeur"] for c in host.contacts or [] if c["type"] == "telephone"), "")
        if phone and rng.random() < 0.3:
            values["telephone"] = phone  # a service hosted by the establishment, its switchboard
            notes.append("téléphone de l'hôte")
        cases.append(Case("autre service à la même adresse", values, None, host.id, None, notes))
    for number, case in enumerate(cases):
        case.values["identifiant"] = f"eval-{region}-{number}"
    return cases, skipped


def write_csv(cases: list[Case], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, delimiter=";")
        writer.writeheader()
        for case in cases:
            writer.writerow({k: case.values.get(k, "") for k in COLUMNS})


def retire_twins(connection: Connection, cases: list[Case]) -> None:
    retired = [c.retire for c in cases if c.retire]
    if retired:
        connection.execute(text("""
            UPDATE offre SET statut = 'retiree', retiree_le = now() WHERE id = ANY(:ids)
        """), {"ids": retired})


def import_answers(connection: Connection, region: str, cases: list[Case],
                   data_dir: Path) -> dict[int, tuple[int | None, str]]:
    """The ARS import's answer per case (dry run): the offer it calls a duplicate, and why."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "eval.csv"
        write_csv(cases, path)
        rapport = ars.import_file(connection, path, compte=None, code_region=region,
                                  geocoder=GeocodeurLocal(connection), data_dir=data_dir,
                                  dry_run=True, emplacement="évaluation", empreinte=None)
    answers = {}
    for line in rapport.lignes:
        index = (line.ligne or 0) - 2
        if line.resultat == "erreur":
            answers[index] = (None, "erreur : " + " ; ".join(line.erreurs))
        else:
            found = line.offre_id if line.resultat == "doublon" else None
            answers[index] = (found, " | ".join(line.avertissements))
    return answers


def merge_answers(connection: Connection, region: str, cases: list[Case],
                  data_dir: Path) -> dict[int, tuple[int | None, str]]:
    """The national merge's answer per case: the rows as records of a national list."""
    types = set(connection.scalars(text("SELECT slug FROM type_offre")))
    lignes = []
    for number, case in enumerate(cases):
        ligne = ars.Ligne(number, dict(case.values))
        ars.read_values(ligne, types)
        lignes.append(ligne)
    ars.locate(connection, lignes, GeocodeurLocal(connection), region)
    run_id = connection.execute(text("""
        INSERT INTO run (source, emplacement) VALUES ('vaccination', 'évaluation') RETURNING id
    """)).scalar_one()
    stage(connection, ars.to_items(lignes, region), RunReport(run_id=run_id,
                                                              source="vaccination"))
    publish.publish(connection, "vaccination", run_id, data_dir, complete=False)
    decisions = connection.execute(text("""
        SELECT s.ligne, d.offre_id, d.decision, d.raison FROM staging s
        JOIN decision_fusion d ON d.run_id = :run AND d.cle = s.cle ORDER BY d.score DESC
    """), {"run": run_id}).all()
    answers: dict[int, tuple[int | None, str]] = {i: (None, "") for i in range(len(cases))}
    for index, offer, decision, reason in decisions:
        found, why = answers[index]
        if decision == "fusion":
            answers[index] = (offer, f"fusion {offer} : {reason}" + (f" | {why}" if why else ""))
        else:
            answers[index] = (found, (why + " | " if why else "") + f"quasi {offer} : {reason}")
    for ligne in lignes:
        if ligne.erreurs:
            answers[ligne.numero] = (None, "erreur : " + " ; ".join(ligne.erreurs))
    return answers


@dataclass
class Score:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    proposed: int = 0  # missed duplicates shown to a person as a near miss of the right offer
    errors: list[str] = field(default_factory=list)

    def add(self, case: Case, found: int | None, why: str, region: str) -> None:
        if case.expected is not None and found == case.expected:
            self.true_pos += 1
            return
        if found is None and case.expected is None:
            return
        if found is not None:
            self.false_pos += 1
        if case.expected is not None:
            self.false_neg += 1
            if found is None and (f"ressemble à l'offre {case.expected} " in why
                                  or f"quasi {case.expected} :" in why):
                self.proposed += 1
        self.errors.append(
            f"[{region}] {case.kind} ({', '.join(case.notes)}) « {case.values['nom'].strip()} » "
            f"{case.values.get('adresse', '')} : attendu {case.expected or 'nouvelle offre'}, "
            f"obtenu {found or 'nouvelle offre'} (ancre {case.anchor}) — {why[:400]}")

    def line(self, name: str) -> str:
        precision = self.true_pos / max(1, self.true_pos + self.false_pos)
        recall = self.true_pos / max(1, self.true_pos + self.false_neg)
        return (f"{name} : précision {precision:.3f}, rappel {recall:.3f} "
                f"(vrais {self.true_pos}, faux positifs {self.false_pos}, "
                f"manqués {self.false_neg} dont {self.proposed} proposés à l'ARS comme "
                f"« ressemble à l'offre N », erreurs {len(self.errors)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", default="44,76,84,52")
    parser.add_argument("--positifs", type=int, default=120, help="doublons par région")
    parser.add_argument("--graine", type=int, default=14)
    parser.add_argument("--jeu", type=Path, help="écrire le jeu étiqueté (CSV) ici")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = make_engine(database_url(settings))
    rng = random.Random(args.graine)
    scores = {"import ARS": Score(), "fusion nationale": Score()}
    kinds: dict[str, int] = {}
    homonyms = 0
    labelled = []
    for region in args.regions.split(","):
        with engine.connect() as connection:
            cases, skipped = build_cases(connection, region, args.positifs, rng)
        homonyms += len(skipped)
        for case in cases:
            kinds[case.kind] = kinds.get(case.kind, 0) + 1
            labelled.append((region, case))
        for name, answer in (("import ARS", import_answers), ("fusion nationale",
                                                              merge_answers)):
            with engine.connect() as connection, connection.begin() as transaction:
                retire_twins(connection, cases)
                answers = answer(connection, region, cases, settings.resolved_data_dir)
                transaction.rollback()
            for index, case in enumerate(cases):
                found, why = answers.get(index, (None, "ligne absente du rapport"))
                scores[name].add(case, found, why, region)
    print(f"Jeu étiqueté : {len(labelled)} lignes de {args.regions} — "
          + ", ".join(f"{k} {v}" for k, v in kinds.items())
          + f" ; {homonyms} paire(s) FINESS homonymes au même lieu écartée(s) (indiscernables)")
    for name, score in scores.items():
        print(score.line(name))
    for name, score in scores.items():
        print(f"\nErreurs — {name} :")
        for error in score.errors:
            print(f"  - {error}")
    if args.jeu:
        with args.jeu.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(["region", "cas", "attendu", "ancre", "transformations", *COLUMNS])
            for region, case in labelled:
                writer.writerow([region, case.kind, case.expected or "", case.anchor,
                                 ", ".join(case.notes),
                                 *(case.values.get(k, "") for k in COLUMNS)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
