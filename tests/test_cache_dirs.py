"""The cache rule of tests/support/cache.py (scripts/build_rp2.sh writes the same in
shell): the system cache when this user may write there or it holds a finished build,
else the user's own cache, so that a user who cannot write /var/cache never fails
on it nor rebuilds what is there already."""

import pathlib

from tests.support import cache


def _system_not_writable(tmp_path: pathlib.Path, monkeypatch) -> pathlib.Path:
    """A system cache below a plain file: no user, root included, can create it."""
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(cache, "SYSTEM", tmp_path / "file" / "noxustime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    return tmp_path / "home-cache" / "noxustime"


def test_a_system_cache_this_user_cannot_write_falls_back_to_the_users_own(tmp_path, monkeypatch):
    user = _system_not_writable(tmp_path, monkeypatch)
    assert cache.cache_dir("rp2") == user / "rp2"
    assert cache.cache_dir("rp2", ready=lambda _p: False) == user / "rp2"
    assert cache.writable_cache_dir("rp2") == user / "rp2"


def test_a_finished_system_build_is_used_read_only_but_results_go_to_the_users_cache(tmp_path, monkeypatch):
    user = _system_not_writable(tmp_path, monkeypatch)
    assert cache.cache_dir("rp2", ready=lambda _p: True) == cache.SYSTEM / "rp2"
    assert cache.writable_cache_dir("rp2") == user / "rp2"


def test_a_writable_system_cache_is_used_even_before_it_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "SYSTEM", tmp_path / "var" / "cache" / "noxustime")
    assert cache.cache_dir("rp2") == cache.writable_cache_dir("rp2") == cache.SYSTEM / "rp2"


def test_without_xdg_cache_home_the_users_cache_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.user_cache() == tmp_path / ".cache" / "noxustime"
