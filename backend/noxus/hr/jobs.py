"""Exports that take longer than a page load run in the background: a row in
`hr_export_job` (queued → running → done | failed, with progress), a worker
thread of the API process that builds the file into that row, a page that
polls the row and offers the download. No queue beyond the table: a job
whose process died stays visible and is reported as interrupted."""

import threading
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from noxus.core.i18n import gettext as _
from noxus.core.restrictions import EXPORTS
from noxus.core.settings import Settings
from noxus.core.types import id_of, utcnow
from noxus.hr.errors import Conflict, NotFound, refuse_if_suspended
from noxus.hr.models import ExportJob

STALE = timedelta(hours=1)  # a job not finished after an hour lost its worker (process restarted)


def submit(session: Session, customer_id: int, kind: str, params: dict, actor: str) -> ExportJob:
    """Queue an export; refused at once (not as a failed job) while the customer is suspended."""
    refuse_if_suspended(session, customer_id, EXPORTS)
    job = ExportJob(customer_id=customer_id, kind=kind, params=params, created_by=actor)
    session.add(job)
    session.flush()
    return job


def get(session: Session, customer_id: int, job_id: int) -> ExportJob:
    job = session.get(ExportJob, job_id)
    if job is None or job.customer_id != customer_id:
        raise NotFound(_("export %(id)s not found") % {"id": job_id})
    return job


def file(job: ExportJob):
    """The finished job's file, or a clear error while it runs or after it failed."""
    from noxus.hr.export_service import ExportFile

    if job.state != "done" or job.content is None:
        raise Conflict(
            _("export %(id)s is not ready (%(state)s): wait for it to finish", id=job.id, state=state(job))
        )
    return ExportFile(job.content, job.filename, job.media_type)


def recent(session: Session, customer_id: int, limit: int = 10) -> list[ExportJob]:
    return list(
        session.exec(
            select(ExportJob)
            .where(ExportJob.customer_id == customer_id)
            .order_by(col(ExportJob.id).desc())
            .limit(limit)
        ).all()
    )


def state(job: ExportJob, now: datetime | None = None) -> str:
    now = now or utcnow()
    if job.state in ("queued", "running") and now - job.created_at > STALE:
        return "interrupted"
    return job.state


def run(engine: Engine, job_id: int, settings: Settings, lang: str = "fr") -> None:
    """Build the job's file (in this thread), recording progress as it goes."""
    from noxus.core.i18n import use_language
    from noxus.hr import payroll_service

    with Session(engine) as s, use_language(lang):

        def row() -> ExportJob:
            # the job was committed before its thread started: it is there
            job = s.get(ExportJob, job_id)
            assert job is not None, f"export job {job_id}"
            return job

        job = row()
        job.state = "running"
        s.add(job)
        s.commit()

        def progress(done: int, total: int) -> None:
            # the same session (one writer: SQLite allows no other); the build only reads
            job = row()
            job.done, job.total = done, total
            s.add(job)
            s.commit()

        try:
            f = payroll_service.build(
                s,
                job.customer_id,
                {**(job.params or {}), "kind": job.kind},
                settings,
                progress=progress,
                actor=job.created_by,
            )
        except Exception as e:  # noqa: BLE001 - any failure is shown to HR on the job page
            s.rollback()
            job = row()
            job.state, job.error, job.finished_at = "failed", str(e)[:500], utcnow()
            s.add(job)
            s.commit()
            return
        job = row()
        job.state, job.content, job.filename, job.media_type = "done", f.content, f.filename, f.media_type
        job.finished_at = utcnow()
        job.done = job.total = max(job.total, job.done)
        s.add(job)
        s.commit()


def start(session: Session, job: ExportJob, settings: Settings, lang: str = "fr") -> threading.Thread:
    """Build the committed job in a worker thread, with its own session on the request's engine."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    t = threading.Thread(
        target=run, args=(engine, id_of(job), settings, lang), name=f"hr-export-{job.id}", daemon=True
    )
    t.start()
    return t
