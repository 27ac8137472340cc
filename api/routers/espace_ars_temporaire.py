"""Espace ARS, « Fermetures et horaires temporaires » of one offer: the periods (current and
coming first, then history), a form to add one, « Annuler » on those not over.

The rules are ``cartographie.temporaire``'s (région scope, checks, audit), as for the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from api.routers.contributions import client_ip
from api.routers.espace_ars import (
    PREFIX,
    Connecte,
    OfferId,
    Verifie,
    Visiteur,
    WriteSession,
    editable_offer,
    refused,
)
from api.routers.pages import page
from cartographie import temporaire
from cartographie.contributions import Refus

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PeriodId = Annotated[int, Path(ge=1, le=2**62)]
EMPTY_FORM = {"genre": "fermeture", "du": "", "au": "", "horaires": "", "message": ""}


def periods_page(request: Request, session: Session, visiteur: Visiteur, offre_id: int, *,
                 valeurs: dict[str, str] | None = None, erreurs: list[str] | None = None,
                 status: int = 200, message: str | None = None) -> HTMLResponse:
    connection = session.connection()
    offre = editable_offer(connection, visiteur.compte, offre_id)
    return page(request, "ars/temporaire.html", status, visiteur=visiteur, offre=offre,
                periodes=temporaire.of_offer(connection, offre_id),
                valeurs=valeurs or EMPTY_FORM, erreurs=erreurs or [], message=message,
                max_message=temporaire.MAX_MESSAGE)


@router.get("/offres/{offre_id}/temporaire", response_class=HTMLResponse)
def periods_form(request: Request, offre_id: OfferId, visiteur: Connecte, session: WriteSession,
                 fait: Annotated[str | None, Query(pattern="^(ajoutee|annulee)$")] = None
                 ) -> HTMLResponse:
    done = {"ajoutee": "Information temporaire enregistrée.",
            "annulee": "Information temporaire annulée."}.get(fait or "")
    return periods_page(request, session, visiteur, offre_id, message=done)


@router.post("/offres/{offre_id}/temporaire", response_class=HTMLResponse)
def add_period(request: Request, offre_id: OfferId, visiteur: Verifie, session: WriteSession,
               genre: Annotated[str, Form(max_length=20)] = "",
               du: Annotated[str, Form(max_length=20)] = "",
               au: Annotated[str, Form(max_length=20)] = "",
               horaires: Annotated[str, Form(max_length=500)] = "",
               message: Annotated[str, Form(max_length=1000)] = ""):
    valeurs = {"genre": genre, "du": du, "au": au, "horaires": horaires, "message": message}
    try:
        temporaire.add(session.connection(), visiteur.compte, offre_id, genre or None, du, au,
                       horaires if genre == "horaires" else None, message or None,
                       client_ip(request))
    except Refus as exc:
        session.rollback()
        if exc.status != 422:
            raise refused(exc) from exc
        return periods_page(request, session, visiteur, offre_id, valeurs=valeurs,
                            erreurs=str(exc).split(" ; "), status=422)
    session.commit()
    return RedirectResponse(f"{PREFIX}/offres/{offre_id}/temporaire?fait=ajoutee",
                            status_code=303)


@router.post("/offres/{offre_id}/temporaire/{period_id}/annulation")
def cancel_period(request: Request, offre_id: OfferId, period_id: PeriodId, visiteur: Verifie,
                  session: WriteSession) -> RedirectResponse:
    try:
        temporaire.cancel(session.connection(), visiteur.compte, offre_id, period_id,
                          client_ip(request))
    except Refus as exc:
        session.rollback()
        raise refused(exc) from exc
    session.commit()
    return RedirectResponse(f"{PREFIX}/offres/{offre_id}/temporaire?fait=annulee",
                            status_code=303)
