"""The FastAPI application: one thin router per resource."""

from fastapi import FastAPI
from sqlalchemy import text

from noxus.core.deps import SessionDep
from noxus.fleet.router import router as fleet_router
from noxus.ingest.router import router as ingest_router
from noxus.web.router import router as web_router


def create_app() -> FastAPI:
    app = FastAPI(title="NoxusTime", version="0.1.0")
    app.include_router(ingest_router)
    app.include_router(fleet_router)
    app.include_router(web_router)

    @app.get("/healthz", tags=["ops"])
    def healthz(session: SessionDep):
        session.exec(text("SELECT 1"))
        return {"status": "ok"}

    return app


app = create_app()
