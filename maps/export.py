"""``cartographie carte export``: a card as one self-contained HTML file, for offline sharing.

Layers per jeu d'offres, clusters and popups come from folium; Leaflet and markercluster are
inlined from our vendored copies, so the file opens without any network (only the basemap
needs one, and the offers show without it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cartographie import catalogue
from cartographie.recherche import Filtres, search
from cartographie.settings import Settings
from maps import folium_maps

PAGE = 1000


class ExportError(ValueError):
    """A French reason the export cannot be made."""


def card_offers(session: Session, slug: str, region: str | None) -> list[dict[str, Any]]:
    """Every published offer of a card, optionally in one région."""
    filters = Filtres(carte=slug, code_region=region)
    total, offers = search(session.connection(), filters, limit=PAGE)
    for offset in range(PAGE, total, PAGE):
        offers += search(session.connection(), filters, limit=PAGE, offset=offset)[1]
    return offers


def export_card(session: Session, settings: Settings, slug: str, region: str | None,
                output: Path) -> int:
    """Write the card's map to ``output``; the number of offers drawn."""
    carte = catalogue.card(session, slug)
    if carte is None:
        raise ExportError(f"la carte « {slug} » n'existe pas")
    if region is not None and session.execute(
            text("SELECT 1 FROM region WHERE code = :c"), {"c": region}).first() is None:
        raise ExportError(f"la région « {region} » n'existe pas (code INSEE, par exemple 44)")
    offers = card_offers(session, slug, region)
    jeux = [{"slug": j.slug, "nom": j.nom} for j in carte.jeux]
    m = folium_maps.card_map(jeux, offers, settings.fond_carte_url,
                             settings.fond_carte_attribution)
    m.get_root().title = f"{carte.nom} — ressources de prévention"
    output.write_text(folium_maps.inline_assets(folium_maps.render(m)), encoding="utf-8")
    return sum(1 for o in offers if o["lat"] is not None)
