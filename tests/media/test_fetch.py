"""Fetching a chosen source with yt-dlp (tunecrate.media.fetch), from the media stand-in."""

from __future__ import annotations

import pytest

from tunecrate.core.errors import DownloadError
from tunecrate.media.fetch import Fetcher, extractor_for


@pytest.fixture
def tone(world, demo):
    """The path and URL of a demo track's audio on the media stand-in."""
    url = next(iter(demo.sources.values()))
    return world.work_dir / "media" / url.rsplit("/", 1)[1], url


def test_extractor_for_obvious_urls():
    assert extractor_for("https://music.youtube.com/watch?v=abc") == "Youtube"
    assert extractor_for("https://youtu.be/abc") == "Youtube"
    assert extractor_for("http://127.0.0.1:8000/media/a.WEBM") == "Generic"
    assert extractor_for("https://example.com/page") is None


def test_a_direct_media_url_and_one_yt_dlp_must_recognise_download_the_same_bytes(world, tone, tmp_path):
    path, url = tone
    plain = world.media.add_file("no-suffix", path)  # no media suffix: every extractor is consulted
    fetcher = Fetcher(tmp_path / "dl")
    try:
        direct, owned = fetcher.fetch(url)
        assert owned and direct.read_bytes() == path.read_bytes()
        recognised, _ = fetcher.fetch(plain)
        assert recognised.read_bytes() == path.read_bytes()
        again, _ = fetcher.fetch(url)  # the same YoutubeDL again
        assert again.read_bytes() == path.read_bytes()
    finally:
        fetcher.close()


@pytest.mark.parametrize("name", ["st%(id)s%41", "pct%%x %s", "odd ?#é"])
def test_downloads_land_in_a_work_folder_named_like_a_template(world, tone, tmp_path, name):
    """yt-dlp reads its output path as a template: a '%' in the storage folder must stay a '%'."""
    path, url = tone
    work = tmp_path / name / "tmp"
    fetcher = Fetcher(work)
    try:
        got, owned = fetcher.fetch(url)
    finally:
        fetcher.close()
    assert owned and got.parent == work and got.read_bytes() == path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_local_file_is_returned_as_it_is(tone, tmp_path):
    path, _ = tone
    fetcher = Fetcher(tmp_path / "dl")
    assert fetcher.fetch(str(path)) == (path, False)
    with pytest.raises(DownloadError, match="local source not found") as caught:
        fetcher.fetch(str(tmp_path / "gone.webm"))
    assert not caught.value.transient


def test_a_404_is_a_permanent_download_error(world, tmp_path):
    fetcher = Fetcher(tmp_path / "dl")
    try:
        with pytest.raises(DownloadError) as caught:
            fetcher.fetch(world.media.base_url + "/media/missing.webm")
        assert not caught.value.transient and "\n" not in str(caught.value)
    finally:
        fetcher.close()
