"""``/api/v1/contributions/offres/{id}/informations-temporaires``: an ARS attaches a temporary
closure or temporary hours to an offer of its région, lists them, cancels one.

Same rules as the other ARS writes (``cartographie.temporaire``): région scope, audited, one
transaction; a refusal is a French problem+json and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentAccount
from api.routers.contributions import (
    PREFIX,
    REFUSALS,
    OfferId,
    WriteSession,
    _refused,
    client_ip,
)
from cartographie import contributions, temporaire

router = APIRouter(prefix=f"{PREFIX}/offres/{{offre_id}}/informations-temporaires",
                   tags=["Contributions ARS"])
PeriodId = Annotated[int, Path(ge=1, le=2**62, description="Identifiant de la période")]


class InformationTemporaire(BaseModel):
    """A period as an ARS sends it: days of Europe/Paris, the last one included."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["fermeture", "horaires"] = Field(
        description="« fermeture » (fermé ces jours-là) ou « horaires » (autres horaires)")
    du: dt.date = Field(description="Premier jour, AAAA-MM-JJ")
    au: dt.date = Field(description="Dernier jour (inclus), AAAA-MM-JJ")
    horaires: str | None = Field(None, max_length=500,
                                 description="Syntaxe OSM, pour « horaires » seulement")
    message: str | None = Field(None, max_length=temporaire.MAX_MESSAGE,
                                description="Message court montré au public")


@router.post("", status_code=201, summary="Ajoute une fermeture ou des horaires temporaires",
             responses={**REFUSALS, 422: {"description": "Période invalide (problem+json)"}})
def add_period(offre_id: OfferId, body: InformationTemporaire, request: Request,
               compte: CurrentAccount, session: WriteSession):
    try:
        created = temporaire.add(session.connection(), compte, offre_id, body.type, body.du,
                                 body.au, body.horaires, body.message, client_ip(request))
    except contributions.Refus as exc:
        session.rollback()
        return _refused(exc)
    session.commit()
    return _public(created)


@router.get("", summary="Les informations temporaires d'une offre (en cours, à venir, passées)",
            responses=REFUSALS)
def list_periods(offre_id: OfferId, compte: CurrentAccount, session: WriteSession):
    connection = session.connection()
    try:
        contributions.authorise(compte, contributions.target(connection, offre_id, lock=False),
                                "consulter")
    except contributions.Refus as exc:
        return _refused(exc)
    return {"informations_temporaires": [
        _public(p) | {"etat": p["etat"], "annulee_le": p["annulee_le"]}
        for p in temporaire.of_offer(connection, offre_id)]}


@router.delete("/{period_id}", summary="Annule une information temporaire (gardée, datée)",
               responses={**REFUSALS, 404: {"description": "Aucune période en cours"}})
def cancel_period(offre_id: OfferId, period_id: PeriodId, request: Request,
                  compte: CurrentAccount, session: WriteSession):
    try:
        cancelled = temporaire.cancel(session.connection(), compte, offre_id, period_id,
                                      client_ip(request))
    except contributions.Refus as exc:
        session.rollback()
        return _refused(exc)
    session.commit()
    return _public(cancelled) | {"annulee": True}


def _public(period: dict) -> dict:
    return {"id": period["id"], "type": period["genre"], "du": period["du"].isoformat(),
            "au": period["au"].isoformat(), "horaires": period["horaires"],
            "message": period["message"]}
