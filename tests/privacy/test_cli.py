"""The operator commands: create a user and a token, verify the audit chain (exit 1 when
tampered), back up encrypted (refused without a key) and restore."""

import sqlite3

from typer.testing import CliRunner


def test_user_token_audit_and_backup_commands(tmp_path, monkeypatch):
    from noxus.core.db import get_engine
    from noxus.core.migrate import upgrade
    from noxus.core.settings import get_settings

    url = f"sqlite:///{tmp_path / 'n.db'}"
    monkeypatch.setenv("NOXUS_DATABASE_URL", url)
    monkeypatch.setenv("NOXUS_BACKUP_DIR", str(tmp_path / "bk"))
    monkeypatch.delenv("NOXUS_BACKUP_KEY", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        upgrade(url)
        from noxus.cli import app

        run = CliRunner().invoke
        r = run(
            app,
            ["user", "create", "boss", "--role", "admin", "--password-stdin"],
            input="a long enough password\n",
        )
        assert r.exit_code == 0, r.output
        r = run(app, ["token", "create", "boss"])
        assert r.exit_code == 0 and r.output.strip().startswith("nxt_")
        assert run(app, ["audit", "verify"]).exit_code == 0
        r = run(app, ["backup"])
        assert r.exit_code == 1 and "no backup key" in r.output  # never a backup in clear
        key = run(app, ["backup-key"]).output.strip()
        monkeypatch.setenv("NOXUS_BACKUP_KEY", key)
        get_settings.cache_clear()
        r = run(app, ["backup"])
        assert r.exit_code == 0, r.output
        (made,) = (tmp_path / "bk").glob("noxus-*.sqlite3.enc")
        r = run(app, ["restore", str(made), "--url", f"sqlite:///{tmp_path / 'back.db'}"])
        assert r.exit_code == 0 and (tmp_path / "back.db").exists(), r.output
        get_engine().dispose()
        with sqlite3.connect(tmp_path / "n.db") as c:
            c.execute("UPDATE audit_entry SET actor = 'someone else' WHERE id = 1")
        r = run(app, ["audit", "verify"])
        assert r.exit_code == 1 and "BROKEN" in r.output
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
