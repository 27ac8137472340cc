"""The embeddable widgets, made to live in an iframe on a partner site: a card map
``/widget/cartes/{slug}`` and an orientation answer ``/widget/orientation?…``.

The card map has the same map, list and URL filters as ``/cartes/{slug}``
(``maps/static/carte.js``); the orientation answer takes the parameters of ``/orientation``
and shows the same answer. Both have minimal chrome and a link back to the full service.
Which sites may frame them is a setting (``widget_sites``, CSP ``frame-ancestors`` in
``api.securite``); every other page refuses to be framed elsewhere.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import get_session
from api.routers.pages import OrientationForm, card_map, orientation_answer, orientation_form, page

router = APIRouter(include_in_schema=False)
# The full page opens with the widget's filters, in its language.
FILTERS = ("besoin", "type_offre", "gratuit", "age", "rayon", "lieu", "lat", "lon", "jeux",
           "z", "c", "ouvert", "lang")


def public_base(request: Request) -> str:
    return (request.app.state.settings.url_publique or str(request.base_url)).rstrip("/")


@router.get("/widget/cartes/{slug}", response_class=HTMLResponse)
def card_widget(request: Request, slug: str,
                session: Annotated[Session, Depends(get_session)]) -> HTMLResponse:
    carte, jeux, config = card_map(request, session, slug)
    kept = {k: v for k, v in request.query_params.items() if k in FILTERS}
    full = f"{public_base(request)}/cartes/{carte.slug}" + (f"?{urlencode(kept)}" if kept else "")
    return page(request, "widget_carte.html", carte=carte, jeux=jeux, config=config,
                lien_complet=full)



@router.get("/widget/orientation", response_class=HTMLResponse)
def orientation_widget(request: Request, session: Annotated[Session, Depends(get_session)],
                       form: Annotated[OrientationForm, Depends(orientation_form)]
                       ) -> HTMLResponse:
    """A bad or missing parameter is said in the frame, in French (never a blank frame)."""
    answer, error, status = None, None, 200
    try:
        answer = orientation_answer(request, session, form)
    except HTTPException as refused:
        error, status = refused.detail, refused.status_code
    full = f"{public_base(request)}/orientation?{form.query()}"
    return page(request, "widget_orientation.html", status, answer=answer, error=error,
                query=form.query(), lien_complet=full)
