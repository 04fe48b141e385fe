"""Every context's tables, imported once so metadata (Alembic, tests) sees them all."""

from sqlmodel import SQLModel

import noxus.billing.models  # noqa: F401
import noxus.fleet.models  # noqa: F401
import noxus.fleet.enrollment  # noqa: F401
import noxus.hr.models  # noqa: F401
import noxus.ingest.models  # noqa: F401
import noxus.core.outbox  # noqa: F401
import noxus.core.users  # noqa: F401
import noxus.privacy.models  # noqa: F401

metadata = SQLModel.metadata
