"""« Mon bilan prévention »: which professionals carry it out, where, as they declare it.

A professional signed in with Pro Santé Connect (their RPPS from the ID token) answers, for
each of their places of practice in the Annuaire Santé, « Effectuez-vous des bilans ? » and
may give a public booking link. A declaration is public once the operator's delay has passed
(or an ARS moderator of the place's région approved it early), while it is neither withdrawn
nor hidden and the place is still in the Annuaire. Every write is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, text

from cartographie import audit
from cartographie.comptes import Compte
from cartographie.contributions import Refus
from cartographie.textes import a_traduire

LIEN_LONGUEUR_MAX = 2048
PROFESSIONS = {"10": "Médecin", "21": "Pharmacien", "50": "Sage-femme", "60": "Infirmier"}
PROFESSION_SLUGS = {"medecin": "10", "pharmacien": "21", "sage-femme": "50",
                    "infirmier": "60"}
# The four age windows of the programme, with why each one matters.
# The citizen pages show the reasons in the reader's language (``a_traduire``).
TRANCHES_AGE = (
    (18, 25, a_traduire("l'entrée dans la vie adulte : alimentation, sommeil, santé sexuelle, "
                        "consommations, santé mentale")),
    (45, 50, a_traduire("le milieu de vie : dépistages des cancers, risques cardiovasculaires, "
                        "activité physique")),
    (60, 65, a_traduire("le passage à la retraite : maladies chroniques, vaccinations, "
                        "lien social")),
    (70, 75, a_traduire("bien vieillir : prévention des chutes, autonomie, mémoire, audition "
                        "et vue")),
)
# Public: declared, delay passed, place still listed, and the answer is « oui ».
VISIBLE = """d.statut = 'declaree' AND d.realise_bilan AND d.visible_le <= now()
             AND p.disparu_le IS NULL AND p.geom IS NOT NULL"""


class LienInvalide(ValueError):
    """A booking link we refuse to show; the message says why, in French."""


def lien_rdv(raw: str) -> str:
    """The booking link, normalised (scheme and host lower-case), or ``LienInvalide``."""
    if raw != raw.strip() or any(c.isspace() for c in raw):
        raise LienInvalide("Le lien de prise de rendez-vous ne doit contenir aucune espace.")
    if len(raw) > LIEN_LONGUEUR_MAX:
        raise LienInvalide(f"Le lien de prise de rendez-vous dépasse {LIEN_LONGUEUR_MAX} "
                           "caractères.")
    try:
        parts = urlsplit(raw)
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:
        raise LienInvalide("Le lien de prise de rendez-vous est illisible.") from exc
    if parts.scheme.lower() != "https":
        raise LienInvalide("Le lien de prise de rendez-vous doit commencer par « https:// » "
                           "(par exemple https://www.monsite.fr).")
    if parts.username is not None or parts.password is not None:
        raise LienInvalide("Le lien de prise de rendez-vous ne doit pas contenir d'identifiant "
                           "ni de mot de passe.")
    if not hostname or "." not in hostname.strip(".") or hostname.replace(".", "").isdigit():
        raise LienInvalide("Le lien de prise de rendez-vous doit désigner un site réel "
                           "(par exemple https://www.monsite.fr).")
    netloc = hostname.rstrip(".") + (f":{port}" if port and port != 443 else "")
    return urlunsplit(("https", netloc, parts.path or "/", parts.query, parts.fragment))


@dataclass(frozen=True)
class Reponse:
    """What the professional answers for one place."""

    activite_id: int
    realise_bilan: bool
    lien_rdv: str | None


def lieux(connection: Connection, rpps: str) -> list[dict[str, Any]]:
    """The professional's places of practice, each with their declaration (if any)."""
    rows = connection.execute(text("""
        SELECT p.id, p.code_profession, p.civilite, p.nom, p.prenom, p.lieu_nom, p.adresse,
               p.code_postal, p.ville, p.disparu_le, d.id AS declaration_id, d.statut,
               d.realise_bilan, d.lien_rdv, d.visible_le, d.motif_masquage
        FROM professionnel_activite p
        LEFT JOIN declaration_bilan d ON d.activite_id = p.id
        WHERE p.rpps = :rpps ORDER BY p.disparu_le NULLS FIRST, p.ville, p.id
    """), {"rpps": rpps}).mappings().all()
    return [dict(row) for row in rows]


def _activite(connection: Connection, rpps: str, activite_id: int) -> dict[str, Any]:
    row = connection.execute(text("""
        SELECT id, rpps, code_region, disparu_le FROM professionnel_activite WHERE id = :id
    """), {"id": activite_id}).mappings().first()
    if row is None or row["rpps"] != rpps:
        # Same answer for « absent » and « someone else's »: a place is not probed by number.
        raise Refus(403, "Ce lieu d'exercice n'est pas l'un des vôtres dans l'Annuaire Santé.")
    if row["disparu_le"] is not None:
        raise Refus(409, "Ce lieu d'exercice n'apparaît plus dans l'Annuaire Santé : mettez à "
                         "jour vos lieux d'exercice auprès de votre ordre, puis revenez.")
    return dict(row)


def _declaration(connection: Connection, activite_id: int) -> dict[str, Any] | None:
    row = connection.execute(text("""
        SELECT id, statut, realise_bilan, lien_rdv, motif_masquage FROM declaration_bilan
        WHERE activite_id = :id FOR UPDATE
    """), {"id": activite_id}).mappings().first()
    return dict(row) if row else None


def declarer(connection: Connection, rpps: str, reponse: Reponse, delai: dt.timedelta,
             adresse_ip: str | None = None) -> int:
    """Record the answer for one of the professional's places; public after ``delai``.

    A changed answer waits the delay again; a place hidden by a moderator stays hidden.
    """
    place = _activite(connection, rpps, reponse.activite_id)
    before = _declaration(connection, reponse.activite_id)
    if before and before["statut"] == "masquee":
        raise Refus(409, "Votre déclaration pour ce lieu a été masquée par l'ARS : "
                         f"« {before['motif_masquage']} ». Contactez votre ARS.")
    after = {"realise_bilan": reponse.realise_bilan, "lien_rdv": reponse.lien_rdv,
             "statut": "declaree", "rpps": rpps}
    declaration_id = connection.execute(text("""
        INSERT INTO declaration_bilan (activite_id, rpps, realise_bilan, lien_rdv, visible_le)
        VALUES (:activite, :rpps, :fait, :lien, now() + :delai)
        ON CONFLICT (activite_id) DO UPDATE SET realise_bilan = excluded.realise_bilan,
            lien_rdv = excluded.lien_rdv, statut = 'declaree', declaree_le = now(),
            visible_le = CASE
                WHEN declaration_bilan.statut = 'declaree'
                     AND declaration_bilan.realise_bilan = excluded.realise_bilan
                     AND declaration_bilan.lien_rdv IS NOT DISTINCT FROM excluded.lien_rdv
                THEN declaration_bilan.visible_le ELSE excluded.visible_le END
        RETURNING id
    """), {"activite": reponse.activite_id, "rpps": rpps, "fait": reponse.realise_bilan,
           "lien": reponse.lien_rdv, "delai": delai}).scalar_one()
    audit.record(connection, None, "declarer", "declaration_bilan", declaration_id,
                 place["code_region"], before, after, adresse_ip)
    return declaration_id


def retirer(connection: Connection, rpps: str, activite_id: int,
            adresse_ip: str | None = None) -> None:
    """The professional withdraws their declaration for one place (kept, no longer shown)."""
    place = connection.execute(text("""
        SELECT code_region, rpps FROM professionnel_activite WHERE id = :id
    """), {"id": activite_id}).mappings().first()
    if place is None or place["rpps"] != rpps:
        raise Refus(403, "Ce lieu d'exercice n'est pas l'un des vôtres dans l'Annuaire Santé.")
    before = _declaration(connection, activite_id)
    if before is None or before["statut"] != "declaree":
        raise Refus(409, "Il n'y a pas de déclaration en cours à retirer pour ce lieu.")
    connection.execute(text("UPDATE declaration_bilan SET statut = 'retiree' WHERE id = :id"),
                       {"id": before["id"]})
    audit.record(connection, None, "retirer", "declaration_bilan", before["id"],
                 place["code_region"], before, {"statut": "retiree", "rpps": rpps}, adresse_ip)


def _moderable(connection: Connection, compte: Compte, declaration_id: int) -> dict[str, Any]:
    if not (compte.is_admin or compte.is_moderator):
        raise Refus(403, "Seul un modérateur de l'ARS (ou un administrateur) modère les "
                         "déclarations de bilan.")
    row = connection.execute(text("""
        SELECT d.id, d.statut, d.visible_le, d.motif_masquage, p.code_region
        FROM declaration_bilan d JOIN professionnel_activite p ON p.id = d.activite_id
        WHERE d.id = :id FOR UPDATE OF d
    """), {"id": declaration_id}).mappings().first()
    if row is None:
        raise Refus(404, f"La déclaration {declaration_id} n'existe pas.")
    if not compte.is_admin and row["code_region"] != compte.code_region:
        raise Refus(403, f"La déclaration {declaration_id} est hors de votre région "
                         f"({compte.code_region}).")
    return dict(row)


def valider(connection: Connection, compte: Compte, declaration_id: int,
            adresse_ip: str | None = None) -> None:
    """A moderator approves a declaration: public now rather than after the delay."""
    before = _moderable(connection, compte, declaration_id)
    if before["statut"] != "declaree":
        raise Refus(409, "Seule une déclaration en cours peut être validée.")
    connection.execute(text("""
        UPDATE declaration_bilan SET visible_le = least(visible_le, now()) WHERE id = :id
    """), {"id": declaration_id})
    audit.record(connection, compte, "valider", "declaration_bilan", declaration_id,
                 before["code_region"], before, {"visible_le": "maintenant"}, adresse_ip)


def masquer(connection: Connection, compte: Compte, declaration_id: int, motif: str,
            adresse_ip: str | None = None) -> None:
    """A moderator of the place's région hides a declaration, saying why."""
    motif = " ".join((motif or "").split())
    if not motif:
        raise Refus(422, "Indiquez le motif du masquage : le professionnel le verra.")
    before = _moderable(connection, compte, declaration_id)
    connection.execute(text("""
        UPDATE declaration_bilan SET statut = 'masquee', motif_masquage = :motif WHERE id = :id
    """), {"id": declaration_id, "motif": motif[:500]})
    audit.record(connection, compte, "masquer", "declaration_bilan", declaration_id,
                 before["code_region"], before, {"statut": "masquee", "motif": motif},
                 adresse_ip)


def a_moderer(connection: Connection, code_region: str | None) -> list[dict[str, Any]]:
    """Declarations of a région (all régions: None), those not yet public first."""
    rows = connection.execute(text("""
        SELECT d.id, d.statut, d.realise_bilan, d.lien_rdv, d.declaree_le, d.visible_le,
               d.motif_masquage, d.visible_le <= now() AS publique, p.code_profession,
               p.nom, p.prenom, p.lieu_nom, p.ville, p.code_postal, p.disparu_le
        FROM declaration_bilan d JOIN professionnel_activite p ON p.id = d.activite_id
        WHERE (CAST(:region AS text) IS NULL OR p.code_region = :region)
        ORDER BY d.statut = 'declaree' AND d.visible_le > now() DESC, d.declaree_le DESC
        LIMIT 500
    """), {"region": code_region}).mappings().all()
    return [dict(row) for row in rows]


@dataclass(frozen=True)
class Recherche:
    """Where and whom the citizen looks for."""

    lon: float | None = None
    lat: float | None = None
    rayon_km: float = 30.0
    profession: str | None = None  # TRE_G15 code
    code_region: str | None = None
    declaration_id: int | None = None
    limit: int = 50
    offset: int = 0


def professionnels(connection: Connection, recherche: Recherche) -> tuple[int, list[dict]]:
    """The public declarations, nearest first when a place is given."""
    near = recherche.lon is not None and recherche.lat is not None
    where = [VISIBLE]
    params: dict[str, Any] = {"limit": recherche.limit, "offset": recherche.offset}
    if near:
        params.update(lon=recherche.lon, lat=recherche.lat, rayon=recherche.rayon_km * 1000)
        where.append("ST_DWithin(p.geom::geography, "
                     "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :rayon)")
    if recherche.profession:
        params["profession"] = recherche.profession
        where.append("p.code_profession = :profession")
    if recherche.code_region:
        params["region"] = recherche.code_region
        where.append("p.code_region = :region")
    if recherche.declaration_id is not None:
        params["declaration"] = recherche.declaration_id
        where.append("d.id = :declaration")
    distance = ("ST_Distance(p.geom::geography, "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)") if near else "NULL"
    condition = " AND ".join(where)
    total = connection.execute(text(f"""
        SELECT count(*) FROM declaration_bilan d
        JOIN professionnel_activite p ON p.id = d.activite_id WHERE {condition}
    """), params).scalar_one()
    rows = connection.execute(text(f"""
        SELECT d.id, p.code_profession, p.civilite, p.nom, p.prenom, p.lieu_nom, p.adresse,
               p.code_postal, p.code_commune, p.ville, p.telephone, d.lien_rdv,
               p.precision_geo, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,
               d.declaree_le::date AS date_maj, {distance} AS distance_m
        FROM declaration_bilan d JOIN professionnel_activite p ON p.id = d.activite_id
        WHERE {condition}
        ORDER BY {'distance_m' if near else 'p.nom, p.prenom'}, d.id
        LIMIT :limit OFFSET :offset
    """), params).mappings().all()
    return total, [{**row, "profession": PROFESSIONS[row["code_profession"]]} for row in rows]


def prochaine_tranche(age: int | None) -> tuple[int, int, str] | None:
    """The age window of the next bilan, after the one of this age (None: none left)."""
    if age is None:
        return None
    return next((t for t in TRANCHES_AGE if t[0] > age), None)
