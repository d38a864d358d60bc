"""The media store (issue 9 item 5): content addressing, limits, both backends, a store that is down."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from anfang.core import storage
from anfang.events import choices as c
from anfang.events.ingest import Rejected
from anfang.events.media import open_picture, save_picture
from tests.media.conftest import free_port


def picture(fmt: str = "JPEG", colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, fmt)
    return buffer.getvalue()


JPEG, PNG = picture("JPEG"), picture("PNG", "blue")


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", JPEG)
    return buffer.getvalue()


@pytest.fixture(params=["fs", "s3"])
def store(request):
    request.getfixturevalue("fs_settings" if request.param == "fs" else "s3_settings")
    return storage.get_store()


def test_put_is_content_addressed_and_round_trips(store):
    ref = store.put(JPEG, "picture")
    assert ref["type"] == "image/jpeg" and ref["size"] == len(JPEG)
    assert ref["path"] == f"events/{ref['sha256'][:2]}/{ref['sha256'][2:4]}/{ref['sha256']}.jpg"
    assert store.put(JPEG, "picture") == ref  # stored once
    assert store.exists(ref) and store.read(ref) == JPEG
    assert b"".join(store.stream(ref, chunk=100)) == JPEG
    with store.open(ref) as handle:
        assert handle.read(3) == b"\xff\xd8\xff"


def test_delete_is_idempotent_and_missing_is_file_not_found(store):
    ref = store.put(PNG, "picture")
    assert store.delete(ref) is True
    assert store.delete(ref) is False and not store.exists(ref)
    with pytest.raises(FileNotFoundError):
        store.open(ref)


def test_type_is_sniffed_from_bytes_not_trusted(store):
    with pytest.raises(storage.BadMedia, match="类型不允许"):
        store.put(b"GIF89a....", "picture")
    with pytest.raises(storage.BadMedia, match="类型不允许"):
        store.put(b"%PDF-1.7 not an export", "picture")
    with pytest.raises(storage.BadMedia, match="内容为空"):
        store.put(b"", "picture")
    # A ZIP is an export, never a picture; text is only an export.
    assert store.put(zipped(), "export")["type"] == "application/zip"
    with pytest.raises(storage.BadMedia):
        store.put(b"PK\x03\x04 a broken zip", "export")
    assert store.put("车牌,时间\n辽H12345,1\n".encode(), "export")["type"] == "text/csv"
    with pytest.raises(storage.BadMedia):
        store.put(b"\x00\x01binary", "export")


def test_size_limit_per_kind(store, settings):
    settings.ANFANG_MAX_PICTURE_BYTES = len(JPEG) - 1
    with pytest.raises(storage.BadMedia, match=f"超过上限 {len(JPEG) - 1} 字节"):
        store.put(JPEG, "picture")
    settings.ANFANG_MAX_PICTURE_BYTES = len(JPEG)
    assert store.put(JPEG, "picture")["size"] == len(JPEG)


@pytest.mark.parametrize("path", ["../etc/passwd", "events/../../x", "/abs", "exports", "other/ab/cd/x.jpg", ""])
def test_references_outside_the_store_are_refused(store, path):
    with pytest.raises(FileNotFoundError):
        store.open({"path": path})
    assert not store.exists({"path": path})


def test_save_picture_keeps_its_contract(store):
    ref = save_picture(JPEG, name="plate.jpg")
    assert ref["name"] == "plate.jpg" and ref["path"].startswith("events/")
    assert open_picture(ref).read_bytes() == JPEG
    with pytest.raises(Rejected) as bad:
        save_picture(b"not a picture", name="scene.jpg")
    assert bad.value.reason == c.DeadLetterReason.BAD_MEDIA and "scene.jpg" in bad.value.detail


def test_s3_presigned_url_serves_the_object(s3_settings):
    import httpx

    store = storage.get_store()
    ref = store.put(PNG, "picture")
    url = store.url(ref)
    assert url and httpx.get(url).content == PNG


def test_s3_store_down_is_a_retryable_error(settings):
    settings.ANFANG_MEDIA_STORE = "s3"
    settings.ANFANG_S3_ENDPOINT = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.ANFANG_S3_ACCESS_KEY = settings.ANFANG_S3_SECRET_KEY = "test"
    store = storage.get_store()
    with pytest.raises(storage.StoreUnavailable, match="不可用"):
        store.put(JPEG, "picture")
    with pytest.raises(storage.StoreUnavailable):
        store.open({"path": "events/ab/cd/abcd.jpg"})
    # save_picture does not turn it into bad data: the caller retries (it is an OSError).
    with pytest.raises(storage.StoreUnavailable) as down:
        save_picture(JPEG, name="plate.jpg")
    assert isinstance(down.value, OSError) and not isinstance(down.value, Rejected)
    # Bad data is still refused as bad data before the store is asked.
    with pytest.raises(Rejected):
        save_picture(b"junk")


def test_s3_missing_bucket_is_unavailable_not_bad_data(s3_settings):
    s3_settings.ANFANG_S3_BUCKET = "no-such-bucket-here"
    with pytest.raises(storage.StoreUnavailable):
        storage.get_store().put(JPEG, "picture")


def test_fs_store_not_writable_is_unavailable(fs_settings):
    fs_settings.MEDIA_ROOT.mkdir(parents=True)
    (fs_settings.MEDIA_ROOT / "events").write_text("a file where the folder should be")
    with pytest.raises(storage.StoreUnavailable):
        storage.get_store().put(JPEG, "picture")
    assert not list(fs_settings.MEDIA_ROOT.rglob("*.tmp"))


def test_unknown_backend_is_refused(settings):
    settings.ANFANG_MEDIA_STORE = "ftp"
    with pytest.raises(ValueError, match="fs or s3"):
        storage.get_store()


@given(st.binary(max_size=64))
def test_sniff_never_fails_and_agrees_with_policy(data):
    kind = storage.sniff(data)
    try:
        assert storage.check(data, "picture") == kind
    except storage.BadMedia:
        assert kind not in storage.POLICIES["picture"].types or not data
