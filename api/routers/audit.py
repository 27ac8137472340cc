"""``/api/v1/audit``: the write side's log, for admins (every région) and the région's
moderators (their own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from api.auth import CurrentAccount
from api.deps import get_write_session
from cartographie import audit, contributions

router = APIRouter(prefix="/api/v1/audit", tags=["Contributions ARS"])


@router.get("", summary="Journal des écritures : qui, quand, avant, après",
            responses={403: {"description": "Réservé aux administrateurs et modérateurs"}})
def read_audit(
    compte: CurrentAccount, session: Annotated[Session, Depends(get_write_session)],
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    offre: Annotated[int | None, Query(ge=1, le=2**62, description="Une offre")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
):
    try:
        scope = contributions.journal_scope(compte, region)
    except contributions.Refus as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    total, rows = audit.entries(session.connection(), scope, limit, offset,
                                None if offre is None else str(offre))
    return {"total": total, "limit": limit, "offset": offset,
            "entrees": jsonable_encoder(rows)}
