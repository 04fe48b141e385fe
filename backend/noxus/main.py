"""The FastAPI application: one thin router per resource."""

import pathlib

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

# Every table in the metadata before the first flush: foreign keys across contexts
# (kiosk -> customer) resolve by table name.
import noxus.migrations.registry  # noqa: F401
from noxus.auth import web as auth_web
from noxus.auth.router import router as auth_router
from noxus.auth.user_pages import router as user_pages
from noxus.billing import customer_accounts
from noxus.billing import state as billing_state
from noxus.billing.pages import router as billing_pages
from noxus.billing.router import router as billing_router
from noxus.billing.setup_pages import router as billing_setup_pages
from noxus.core import i18n, restrictions
from noxus.fleet import commands as fleet_commands
from noxus.fleet.enrollment_pages import router as enrollment_pages
from noxus.fleet.enrollment_router import router as enrollment_router
from noxus.fleet.kiosk_pages import router as kiosk_pages
from noxus.fleet.pages import router as fleet_pages
from noxus.fleet.router import router as fleet_router
from noxus.hr import kiosk_badges
from noxus.hr.api.routes import router as hr_router
from noxus.hr.pages import router as hr_pages
from noxus.ingest.router import router as ingest_router
from noxus.ops.pages import router as ops_pages
from noxus.ops.router import router as ops_router
from noxus.privacy.pages import router as privacy_pages
from noxus.privacy.router import router as privacy_router
from noxus.tenancy import service as tenancy
from noxus.tenancy.api import router as tenancy_api
from noxus.tenancy.pages import router as tenancy_pages
from noxus.tenancy.service import customer_language


def create_app() -> FastAPI:
    from noxus.billing.config import check as check_billing_config
    from noxus.core.settings import get_settings

    check_billing_config(get_settings())  # production never bills with placeholder creditor data
    app = FastAPI(title="NoxusTime", version="0.1.0")
    i18n.customer_language_resolver = customer_language  # core knows no context: tenancy tells it
    tenancy.account_provider = customer_accounts.summaries  # tenancy knows no billing: billing tells it
    restrictions.register(billing_state.refusal)  # HR asks core whether billing suspended a customer
    fleet_commands.badge_names_provider = kiosk_badges.badge_names  # fleet knows no HR tables: HR tells it
    auth_web.install(app)
    static = pathlib.Path(__file__).parent / "web" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.include_router(auth_router)
    app.include_router(privacy_router)
    app.include_router(privacy_pages)
    app.include_router(ingest_router)
    app.include_router(fleet_router)
    app.include_router(hr_router)
    app.include_router(hr_pages)
    app.include_router(enrollment_router)
    app.include_router(enrollment_pages)
    app.include_router(ops_pages)
    app.include_router(fleet_pages)
    app.include_router(kiosk_pages)
    app.include_router(ops_router)
    app.include_router(billing_router)
    app.include_router(billing_pages)
    app.include_router(billing_setup_pages)
    app.include_router(tenancy_api)
    app.include_router(tenancy_pages)
    app.include_router(user_pages)

    return app


app = create_app()
