"""« Signaler une erreur »: a citizen tells us an offer is wrong; the ARS of the offer's
région decides (issue 16, point 4).

Anyone may report, without an account, so the rules are about abuse and personal data:

- only a published offer can be reported (any other is « unknown », as on the public side);
- sizes are bounded; what people write is stored as text and only ever shown escaped;
- a client address sends at most ``par_heure`` reports an hour, counted in the database so
  that every worker shares the count (the address is stored as its SHA-256 only);
- an open report of the same offer and reason is not duplicated: its count goes up and the
  new message joins it;
- nothing in the published offer changes: an ARS corrects the offer through the usual form,
  then marks the report « corrigé », or « rejeté » with a reason; each decision is audited;
- the reporter's contact is erased ``conservation_jours`` days after the decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from cartographie import audit
from cartographie.comptes import Compte
from cartographie.contributions import Refus
from cartographie.models import SIGNALEMENT_MOTIFS

# The ARS reads these labels; the citizen's form has its own, translated (signaler.html).
MOTIFS = dict(zip(SIGNALEMENT_MOTIFS, (
    "Fermé définitivement", "Horaires", "Téléphone", "Adresse", "N'existe pas", "Autre"),
    strict=True))
DECISIONS = {"corrige": "corrigé", "rejete": "rejeté"}
FENETRE = dt.timedelta(hours=1)
COURRIEL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
TELEPHONE = re.compile(r"\+?[0-9 .()-]{6,25}")
# Control characters (NUL would break PostgreSQL), except line breaks and tabs.
CONTROLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Limites:
    """Bounds of a report, from the settings (``CARTOGRAPHIE_SIGNALEMENTS_*``)."""

    texte_max: int = 2000
    contact_max: int = 200
    par_heure: int = 5
    conservation_jours: int = 30

    @classmethod
    def of(cls, settings: Any) -> Limites:
        return cls(settings.signalements_texte_max, settings.signalements_contact_max,
                   settings.signalements_par_heure, settings.signalements_conservation_jours)


class SignalementInvalide(Exception):
    """The form's values refused: French messages by field name."""

    def __init__(self, erreurs: dict[str, str]):
        self.erreurs = erreurs
        super().__init__(" ; ".join(erreurs.values()))


class TropDeSignalements(Refus):
    """Over the rate limit of the client's address; ``attente`` seconds until the next."""

    def __init__(self, attente: int):
        self.attente = attente
        super().__init__(429, "Vous avez envoyé beaucoup de signalements en peu de temps : "
                              f"réessayez dans {math.ceil(attente / 60)} minute(s).")


@dataclass(frozen=True)
class Signalement:
    """A report as checked: reason code, text and contact (both may be empty)."""

    motif: str
    texte: str | None
    contact: str | None


def checked(motif: str, texte: str, contact: str, limites: Limites) -> Signalement:
    """The form's values cleaned and checked, or ``SignalementInvalide``."""
    texte = CONTROLE.sub("", texte or "").strip()
    contact = " ".join(CONTROLE.sub("", contact or "").split())
    erreurs: dict[str, str] = {}
    if motif not in MOTIFS:
        erreurs["motif"] = "Choisissez ce qui ne va pas dans la liste."
    if len(texte) > limites.texte_max:
        erreurs["texte"] = (f"Le message dépasse {limites.texte_max} caractères "
                            f"({len(texte)}) : raccourcissez-le.")
    elif motif == "autre" and not texte:
        erreurs["texte"] = "Avec « Autre chose », dites en quelques mots ce qui ne va pas."
    if len(contact) > limites.contact_max:
        erreurs["contact"] = f"Le contact dépasse {limites.contact_max} caractères."
    elif contact and not (COURRIEL.fullmatch(contact) or (
            TELEPHONE.fullmatch(contact) and sum(c.isdigit() for c in contact) >= 6)):
        erreurs["contact"] = ("Indiquez une adresse électronique (nom@exemple.fr) ou un numéro "
                              "de téléphone, ou laissez ce champ vide.")
    if erreurs:
        raise SignalementInvalide(erreurs)
    return Signalement(motif, texte or None, contact or None)


def reportable_offer(connection: Connection, offre_id: int) -> dict[str, Any] | None:
    """The published offer a citizen may report (name and commune for the form), else None:
    a draft or retired offer is as unknown here as on every public path."""
    row = connection.execute(text("""
        SELECT o.id, o.nom, c.nom AS commune, o.code_region
        FROM offre o LEFT JOIN commune c ON c.code = o.code_commune
        WHERE o.id = :id AND o.statut = 'publiee'
    """), {"id": offre_id}).mappings().first()
    return dict(row) if row else None


def address_digest(adresse: str) -> str:
    return hashlib.sha256(adresse.encode()).hexdigest()


def _count_send(connection: Connection, adresse: str, limites: Limites) -> None:
    """Count one send from the address, or ``TropDeSignalements`` past the limit.

    The advisory lock serialises two sends of one address (two workers) so that both cannot
    pass on the same count."""
    empreinte = address_digest(adresse)
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:e, 16))"),
                       {"e": empreinte})
    connection.execute(text("DELETE FROM signalement_envoi WHERE le < now() - :fenetre"),
                       {"fenetre": FENETRE})
    envois, premier = connection.execute(text("""
        SELECT count(*), min(le) FROM signalement_envoi WHERE empreinte = :e
    """), {"e": empreinte}).one()
    if envois >= limites.par_heure:
        attente = connection.execute(text("SELECT extract(epoch FROM :premier + :fenetre - now())"),
                                     {"premier": premier, "fenetre": FENETRE}).scalar_one()
        raise TropDeSignalements(max(1, math.ceil(attente)))
    connection.execute(text("INSERT INTO signalement_envoi (empreinte) VALUES (:e)"),
                       {"e": empreinte})


def submit(connection: Connection, offre: dict[str, Any], signalement: Signalement,
           adresse: str, limites: Limites) -> int:
    """Record a citizen's report of a published offer; returns the (grouped) report's id.

    The caller commits. The audit entry names the offer and the reason, never the text,
    the contact or the address (personal data kept out of a log kept for ever)."""
    _count_send(connection, adresse, limites)
    signalement_id, nombre = connection.execute(text("""
        INSERT INTO signalement (offre_id, motif) VALUES (:offre, :motif)
        ON CONFLICT (offre_id, motif) WHERE statut = 'ouvert'
        DO UPDATE SET nombre = signalement.nombre + 1, dernier_le = now()
        RETURNING id, nombre
    """), {"offre": offre["id"], "motif": signalement.motif}).one()
    if signalement.texte or signalement.contact:
        connection.execute(text("""
            INSERT INTO signalement_message (signalement_id, texte, contact)
            VALUES (:id, :texte, :contact)
        """), {"id": signalement_id, "texte": signalement.texte,
               "contact": signalement.contact})
    audit.record(connection, None, "signalement", "signalement", signalement_id,
                 offre["code_region"], None,
                 {"offre_id": offre["id"], "motif": signalement.motif, "nombre": nombre})
    # Swept on each write too, so contacts go on time even when nobody reads the queue.
    erase_old_contacts(connection, limites)
    return signalement_id


def erase_old_contacts(connection: Connection, limites: Limites) -> int:
    """Erase the contacts of reports resolved more than ``conservation_jours`` days ago."""
    return connection.execute(text("""
        UPDATE signalement_message m SET contact = NULL
        FROM signalement s
        WHERE s.id = m.signalement_id AND m.contact IS NOT NULL AND s.statut <> 'ouvert'
          AND s.traite_le < now() - make_interval(days => :jours)
    """), {"jours": limites.conservation_jours}).rowcount


def open_count(connection: Connection, code_region: str | None) -> int:
    """Open reports of a région (every région: None), each group counted once."""
    return connection.execute(text("""
        SELECT count(*) FROM signalement s JOIN offre o ON o.id = s.offre_id
        WHERE s.statut = 'ouvert' AND (CAST(:region AS text) IS NULL OR o.code_region = :region)
    """), {"region": code_region}).scalar_one()


def queue(connection: Connection, code_region: str | None, statut: str, limit: int,
          offset: int) -> tuple[int, list[dict[str, Any]]]:
    """Reports of a région in one state with their messages: the most reported first, then
    the oldest (open ones), or the latest decided."""
    params = {"region": code_region, "statut": statut, "limit": limit, "offset": offset}
    where = """s.statut = :statut
               AND (CAST(:region AS text) IS NULL OR o.code_region = :region)"""
    total = connection.execute(text(f"""
        SELECT count(*) FROM signalement s JOIN offre o ON o.id = s.offre_id WHERE {where}
    """), params).scalar_one()
    order = ("s.nombre DESC, s.cree_le" if statut == "ouvert" else "s.traite_le DESC")
    rows = connection.execute(text(f"""
        SELECT s.id, s.offre_id, o.nom AS offre_nom, o.statut AS offre_statut, o.code_region,
               c.nom AS commune, s.motif, s.statut, s.nombre, s.cree_le, s.dernier_le,
               s.traite_le, u.nom AS traite_par, s.motif_rejet,
               coalesce((SELECT json_agg(json_build_object(
                                 'texte', m.texte, 'contact', m.contact, 'recu_le', m.recu_le)
                                 ORDER BY m.id)
                         FROM signalement_message m WHERE m.signalement_id = s.id), '[]')
                   AS messages
        FROM signalement s JOIN offre o ON o.id = s.offre_id
        LEFT JOIN commune c ON c.code = o.code_commune
        LEFT JOIN utilisateur u ON u.id = s.traite_par
        WHERE {where} ORDER BY {order}, s.id LIMIT :limit OFFSET :offset
    """), params).mappings().all()
    return total, [dict(row) for row in rows]


def resolve(connection: Connection, compte: Compte, signalement_id: int, decision: str,
            motif_rejet: str | None, adresse_ip: str | None = None) -> dict[str, Any]:
    """A moderator (or admin) of the offer's région marks an open report « corrigé » or
    « rejeté » (with the reason); audited. The offer itself is changed, if need be, by the
    usual correction form: a report never writes into published data."""
    if not (compte.is_admin or compte.is_moderator):
        raise Refus(403, "Seul un modérateur de l'ARS (ou un administrateur) traite les "
                         "signalements.")
    if decision not in DECISIONS:
        raise Refus(422, "Décision inconnue : « corrige » ou « rejete » attendu.")
    # A reason is a rejection's only: a « corrigé » sent with one does not keep it.
    motif_rejet = (" ".join((motif_rejet or "").split())[:500] or None
                   if decision == "rejete" else None)
    if decision == "rejete" and not motif_rejet:
        raise Refus(422, "Indiquez pourquoi le signalement est rejeté.")
    before = connection.execute(text("""
        SELECT s.id, s.offre_id, s.motif, s.statut, s.nombre, o.code_region
        FROM signalement s JOIN offre o ON o.id = s.offre_id
        WHERE s.id = :id FOR UPDATE OF s
    """), {"id": signalement_id}).mappings().first()
    if before is None or not (compte.is_admin or before["code_region"] == compte.code_region):
        # Another région's report is as unknown as a missing one: nothing of it leaks.
        raise Refus(404, f"Le signalement {signalement_id} n'existe pas dans votre région.")
    if before["statut"] != "ouvert":
        raise Refus(409, f"Le signalement {signalement_id} est déjà traité "
                         f"({DECISIONS[before['statut']]}).")
    connection.execute(text("""
        UPDATE signalement SET statut = :decision, traite_le = now(), traite_par = :compte,
                               motif_rejet = :motif
        WHERE id = :id
    """), {"decision": decision, "compte": compte.id, "motif": motif_rejet,
           "id": signalement_id})
    after = {"statut": decision, "motif_rejet": motif_rejet}
    audit.record(connection, compte, f"signalement_{decision}", "signalement", signalement_id,
                 before["code_region"], dict(before), after, adresse_ip)
    return {**dict(before), **after}
