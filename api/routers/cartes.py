"""``/api/v1/cartes``: each card's editorial content, national resources, needs and offers."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from sqlalchemy.orm import Session

from api.deps import get_session
from api.schemas import BesoinOut, CarteOut, JeuOut, RessourceOut, ThemeRef, TypeOffreOut
from cartographie import catalogue
from cartographie.models import Carte

router = APIRouter(prefix="/api/v1/cartes", tags=["Thèmes et cartes"])


def card_out(carte: Carte, counts: dict[str, int]) -> CarteOut:
    return CarteOut(
        slug=carte.slug,
        nom=carte.nom,
        theme=ThemeRef.model_validate(carte.theme),
        resume=carte.resume,
        texte_editorial=carte.texte_editorial,
        ressources=[RessourceOut.model_validate(r) for r in carte.ressources],
        besoins=[
            BesoinOut(
                slug=b.slug, libelle=b.libelle, description=b.description,
                types_offre=[t.slug for t in b.types_offre],
            )
            for b in carte.besoins
        ],
        types_offre=[TypeOffreOut.model_validate(t) for t in carte.types_offre],
        jeux=[
            JeuOut(slug=j.slug, nom=j.nom, description=j.description,
                   nombre_offres=counts.get(j.slug, 0))
            for j in carte.jeux
        ],
    )


@router.get("", response_model=list[CarteOut], summary="Les 12 cartes thématiques")
def list_cards(session: Annotated[Session, Depends(get_session)]) -> list[CarteOut]:
    counts = catalogue.published_offer_counts_by_jeu(session)
    return [card_out(c, counts) for c in catalogue.cards(session)]


@router.get(
    "/{slug}",
    response_model=CarteOut,
    summary="Une carte thématique",
    responses={404: {"description": "Carte inconnue (problem+json)"}},
)
def get_card(
    slug: Annotated[str, Path(max_length=100, description="Identifiant de la carte")],
    session: Annotated[Session, Depends(get_session)],
) -> CarteOut:
    carte = catalogue.card(session, slug)
    if carte is None:
        raise HTTPException(
            404,
            f"La carte « {slug} » n'existe pas. Les cartes sont listées sur /api/v1/cartes.",
        )
    return card_out(carte, catalogue.published_offer_counts_by_jeu(session))
