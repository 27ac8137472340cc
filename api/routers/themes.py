"""``/api/v1/themes``: the 7 subjects with their cards."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.deps import get_session
from api.schemas import ThemeOut
from cartographie import catalogue

router = APIRouter(prefix="/api/v1/themes", tags=["Thèmes et cartes"])


@router.get("", response_model=list[ThemeOut], summary="Les 7 sujets clés et leurs cartes")
def list_themes(session: Annotated[Session, Depends(get_session)]) -> list[ThemeOut]:
    return [ThemeOut.model_validate(t) for t in catalogue.themes_with_cards(session)]
