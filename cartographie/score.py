"""The quality score of an offer (0–100): can a person find it, reach it, and trust it today?

Why SQL: the score is a filter of the search (``score_min``), of OGC API and of the tiles, and
a summary per card and région; one expression on ``o`` (offre) keeps them all in agreement.

| part | points | full marks when |
|---|---|---|
| position | 25 | remote offer, or placed at its address / establishment (5 at the commune centre) |
| contact | 20 | a phone number or a web address (site, booking, contact URL) |
| horaires | 15 | hours known (5 when the source says « unknown » for some days) |
| public | 10 | ages or publics served are stated |
| description | 10 | at least 30 characters telling what the offer is |
| fraicheur | 20 | confirmed in the last 6 months; none left after 3 years, linearly |

« Confirmed » is ``verification.CONFIRMED_AT``: by a source run that saw the offer, or by an
ARS editor.
"""

from __future__ import annotations

from cartographie.verification import CONFIRMED_AT

FRESH_DAYS = 180
STALE_DAYS = 1095

PARTS = {
    "position": """CASE WHEN o.mode = 'a_distance' THEN 25
                        WHEN o.geom IS NULL THEN 0
                        WHEN o.precision_geo = 'commune' THEN 5 ELSE 25 END""",
    "contact": """CASE WHEN nullif(o.site_web, '') IS NOT NULL
                         OR nullif(o.reservation_url, '') IS NOT NULL
                         OR EXISTS (SELECT 1 FROM jsonb_array_elements(o.contacts) c
                                    WHERE c->>'type' <> 'email'
                                      AND nullif(c->>'valeur', '') IS NOT NULL)
                       THEN 20 ELSE 0 END""",
    "horaires": """CASE WHEN nullif(o.horaires, '') IS NULL THEN 0
                        WHEN o.horaires LIKE '%unknown%' THEN 5 ELSE 15 END""",
    "public": """CASE WHEN o.public_age_min IS NOT NULL OR o.public_age_max IS NOT NULL
                         OR cardinality(o.public_publics) > 0 THEN 10 ELSE 0 END""",
    "description": "CASE WHEN length(trim(coalesce(o.description, ''))) >= 30 THEN 10 ELSE 0 END",
    "fraicheur": f"""round(20 * least(1, greatest(0,
                        ({STALE_DAYS} - extract(epoch FROM now() - {CONFIRMED_AT}) / 86400)
                        / ({STALE_DAYS} - {FRESH_DAYS}))))::int""",
}
SCORE = "(" + " + ".join(f"({sql})" for sql in PARTS.values()) + ")"
LABELS = {"position": "position précise", "contact": "téléphone ou site",
          "horaires": "horaires", "public": "public précisé", "description": "description",
          "fraicheur": "confirmée récemment"}
MAXIMA = {"position": 25, "contact": 20, "horaires": 15, "public": 10, "description": 10,
          "fraicheur": 20}


def parts_columns() -> str:
    """The parts as columns ``score_<part>`` of a query on ``o``."""
    return ", ".join(f"({sql})::int AS score_{name}" for name, sql in PARTS.items())


def missing(row: dict) -> list[str]:
    """What the offer lacks, in French, from the ``score_<part>`` columns."""
    return [LABELS[name] for name, full in MAXIMA.items() if row[f"score_{name}"] < full]
