"""FastAPI dependencies as Annotated aliases: a route's signature is its contract."""

from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from noxus.core.db import get_session
from noxus.core.settings import Settings, get_settings

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
