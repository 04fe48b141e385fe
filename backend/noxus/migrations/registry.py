"""Every context's tables, imported once so metadata (Alembic, tests) sees them all. It lives
beside the migrations, not in core: core knows no context."""

from sqlmodel import SQLModel

import noxus.billing.models
import noxus.core.audit_entry
import noxus.core.outbox
import noxus.core.users
import noxus.fleet.enrollment
import noxus.fleet.models
import noxus.hr.models
import noxus.ingest.models
import noxus.privacy.models
import noxus.tenancy.models  # noqa: F401

metadata = SQLModel.metadata
