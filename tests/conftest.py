from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.mirror_fixtures", "tests.worker_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_testdata() -> Path:
    """Real data captured from macOS: CHATSTATS_TESTDATA_DIR when set, else ../shared/testdata beside the clone."""
    return Path(os.environ.get("CHATSTATS_TESTDATA_DIR") or REPO_ROOT.parent / "shared" / "testdata")


def missing_testdata_reason(folder: Path) -> str | None:
    """Why tests that need the shared data skip (None: it is there)."""
    if folder.is_dir():
        return None
    return (f"shared test data not found at {folder}: set CHATSTATS_TESTDATA_DIR to its folder "
            "(CI keeps it at ../shared/testdata beside the clone)")


SHARED_TESTDATA = shared_testdata()


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    """Real data captured from macOS; skip, saying where it was looked for, when there is none."""
    reason = missing_testdata_reason(SHARED_TESTDATA)
    if reason is not None:
        pytest.skip(reason)
    return SHARED_TESTDATA


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own data dir, a fresh settings object and no pooled connections."""
    from backend.config import reset_settings_cache
    from backend.db.engine import dispose_engines

    data = tmp_path / "data"
    monkeypatch.setenv("CHATSTATS_DATA_DIR", str(data))
    monkeypatch.setenv("CHATSTATS_SOURCE_CHAT_DB", str(tmp_path / "no-source" / "chat.db"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    reset_settings_cache()
    dispose_engines()
    yield data
    dispose_engines()
    reset_settings_cache()


@pytest.fixture
def migrated_engine(isolated_data_dir: Path):
    """central.db in the test's data dir, migrated to head."""
    from backend.config import get_settings
    from backend.db import migrate
    from backend.db.engine import get_engine

    engine = get_engine(get_settings().central_db_path)
    migrate.upgrade(engine)
    return engine
