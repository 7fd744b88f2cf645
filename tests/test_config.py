"""Configuration: production refuses unsafe settings, development keeps its generated key, gunicorn reads its own."""
import gc
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

import config
from crmadmin import create_app


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    """Could production run on a missing or guessable session key?"""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://crm@db/crm")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")
    with pytest.raises(RuntimeError, match="at least 32"):
        create_app("production", SECRET_KEY="short")


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    """Could production silently fall back to a throwaway SQLite file?"""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app("production", SECRET_KEY=secrets.token_urlsafe(40))


def test_production_cookies_are_secure(monkeypatch):
    """Are session cookies HTTPS-only, HttpOnly and SameSite in production?"""
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app("production", SECRET_KEY=secrets.token_urlsafe(40))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_generates_its_secret_key_once(monkeypatch, tmp_path):
    """Does the development key survive restarts instead of signing everyone out?"""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = create_app("development", SQLALCHEMY_DATABASE_URI="sqlite://").config["SECRET_KEY"]
    second = create_app("development", SQLALCHEMY_DATABASE_URI="sqlite://").config["SECRET_KEY"]
    assert first == second and len(first) >= 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_started_in_the_repository_reads_the_panels_settings():
    """Does `gunicorn app:app`, as the README runs it, pick up gunicorn.conf.py without being told to?"""
    printed = subprocess.run([str(Path(sys.executable).with_name("gunicorn")), "--print-config", "app:app"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    hooks = [line.split("=", 1)[1].strip() for line in printed.splitlines() if line.startswith("post_worker_init ")]
    assert hooks == ["<post_worker_init()>"], printed
    starting = [line.split("=", 1)[1].strip() for line in printed.splitlines() if line.startswith("on_starting ")]
    assert starting == ["<on_starting()>"], printed  # the deploy checks, once, in the master


def test_a_gunicorn_worker_keeps_what_the_app_built_out_of_full_garbage_collections():
    """Does the worker hook freeze the objects made at start-up, so no request pays a full pass over them?"""
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
