"""Configuration: production refuses unsafe settings, development keeps its generated key."""
import pytest

import config
from crmadmin import create_app


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    """Could production run on a missing or guessable session key?"""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://crm@db/crm")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="at least 32"):
        create_app("production")


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    """Could production silently fall back to a throwaway SQLite file?"""
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app("production")


def test_production_cookies_are_secure(monkeypatch):
    """Are session cookies HTTPS-only, HttpOnly and SameSite in production?"""
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app("production")
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
