"""``/sante``: health endpoints for an orchestrator (Kubernetes probes, a load balancer).

Liveness (``/sante``) answers without the database: a live process whose database is down
must not be restarted for it (it recovers on its own). Readiness (``/sante/pret``) checks the
read and write databases: while they are unreachable no traffic should be sent here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session, get_write_session

router = APIRouter(prefix="/sante", tags=["Santé du service"])


@router.get("", summary="Le processus répond (sans interroger la base)")
def liveness() -> dict[str, str]:
    return {"statut": "vivant"}


@router.get("/pret", summary="Le service peut répondre : bases de lecture et d'écriture "
                             "joignables",
            responses={503: {"description": "Base injoignable (problem+json, Retry-After)"}})
def readiness(read: Annotated[Session, Depends(get_session)],
              write: Annotated[Session, Depends(get_write_session)]) -> dict[str, str]:
    for session in (read, write):
        session.execute(text("SELECT 1"))  # unreachable: the 503 handler of api.problems
    return {"statut": "pret", "base": "joignable"}
