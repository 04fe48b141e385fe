"""The audit log moved to noxus.core.audit (every context records there); this name stays for
existing callers."""

from noxus.core.audit import (  # noqa: F401
    EXPORT_FIELDS,
    GENESIS,
    AuditEntry,
    VerifyResult,
    canonical,
    entry_hash,
    erase_personal,
    export_csv,
    export_rows,
    head,
    iter_entries,
    personal_digest,
    record,
    verify,
)
