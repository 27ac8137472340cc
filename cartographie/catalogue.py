"""Read side of the taxonomy: subjects, cards and what each card offers to its users."""

from __future__ import annotations

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, selectinload

from cartographie.cache import DataVersionCache
from cartographie.models import Besoin, Carte, Jeu, JeuOffre, Offre, Theme

JEU_COUNTS = DataVersionCache(size=8)


def themes_with_cards(session: Session) -> list[Theme]:
    return list(
        session.scalars(select(Theme).options(selectinload(Theme.cartes)).order_by(Theme.ordre))
    )


def _card_query():
    return select(Carte).options(
        selectinload(Carte.theme),
        selectinload(Carte.besoins).selectinload(Besoin.types_offre),
        selectinload(Carte.types_offre),
        selectinload(Carte.ressources),
        selectinload(Carte.jeux),
    )


def cards(session: Session) -> list[Carte]:
    return list(session.scalars(_card_query().order_by(Carte.ordre)))


def card(session: Session, slug: str) -> Carte | None:
    return session.scalars(_card_query().where(Carte.slug == slug)).one_or_none()


def published_offer_counts_by_jeu(session: Session) -> dict[str, int]:
    """How many published offers each jeu d'offres shows, for every jeu at once.

    Kept per data version (``cartographie.cache``): every card page and card API answer
    shows them, and they join every membership of the country.
    """
    def compute(connection: Connection) -> dict[str, int]:
        rows = connection.execute(
            select(Jeu.slug, func.count(Offre.id))
            .outerjoin(JeuOffre, JeuOffre.jeu_slug == Jeu.slug)
            .outerjoin(Offre, (Offre.id == JeuOffre.offre_id) & (Offre.statut == "publiee"))
            .group_by(Jeu.slug)
        )
        return {slug: count for slug, count in rows}

    return JEU_COUNTS.get(session.connection(), "jeux", compute)
