"""Thumbnails of image attachments on disk (PNG and HEIC), and a reasoned 404 for the rest."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backend.api.app import create_app
from backend.config import get_settings
from backend.db.engine import get_engine
from backend.db.migrate import upgrade
from tests.api_fixtures import AUTH, TOKEN


@pytest.fixture
def attachments(isolated_data_dir, tmp_path):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    engine = get_engine(get_settings().central_db_path)
    upgrade(engine)
    png = tmp_path / "IMG_1.PNG"
    Image.new("RGB", (900, 600), (200, 30, 30)).save(png)
    heic = tmp_path / "IMG_2.HEIC"
    Image.new("RGB", (600, 1200), (30, 30, 200)).save(heic, format="HEIF")
    pdf = tmp_path / "Document.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    rows = [(1, str(png), "IMG_1.PNG", "image/png", 1), (2, str(heic), "IMG_2.HEIC", "image/heic", 1),
            (3, str(tmp_path / "gone.jpeg"), "gone.jpeg", "image/jpeg", 0), (4, str(pdf), "Document.pdf",
                                                                            "application/pdf", 1)]
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO chats (id, chat_key, created_at, updated_at) VALUES (1, 'k', 0, 0)")
        conn.exec_driver_sql("INSERT INTO messages (id, guid, chat_id, sent_at, has_attachments) VALUES (1, 'g', 1, 0, 1)")
        for row in rows:
            conn.exec_driver_sql("INSERT INTO attachments (id, guid, message_id, path, transfer_name, mime_type, "
                                 "total_bytes, file_present) VALUES (?, ?, 1, ?, ?, ?, 10, ?)",
                                 (row[0], f"a{row[0]}", *row[1:]))
    return engine


def test_thumbnails_of_images_on_disk(attachments):
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        png = client.get("/api/attachments/1/thumbnail", params={"size": 256})
        assert png.status_code == 200 and png.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(png.content)).size == (256, 171)
        heic = client.get("/api/attachments/2/thumbnail", params={"size": 128})
        assert heic.status_code == 200 and Image.open(io.BytesIO(heic.content)).size == (64, 128)
        again = client.get("/api/attachments/2/thumbnail", params={"size": 128})
        assert again.content == heic.content
        assert len(list((get_settings().data_dir / "thumbnails").iterdir())) == 2
        missing = client.get("/api/attachments/3/thumbnail")
        assert missing.status_code == 404 and missing.json()["code"] == "thumbnail_unavailable"
        assert "not on this Mac" in missing.json()["message"]
        assert client.get("/api/attachments/4/thumbnail").json()["message"] == "This attachment is not an image."
        assert client.get("/api/attachments/99/thumbnail").json()["code"] == "attachment_not_found"
        assert client.get("/api/attachments/1/thumbnail", params={"size": 9999}).status_code == 422
