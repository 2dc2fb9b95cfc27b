"""Bad input gets one clear line on stderr: sources that are not audio, ids, and failed loads."""

from __future__ import annotations

import pytest

from tunecrate.demo.spotify_server import fake_id


def _one_line(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    return lines[0]


@pytest.mark.parametrize("content", [b"just some text\n", b"", b"<html><body>not audio</body></html>",
                                     b"\xff\xd8\xff\xe0 a JPEG"], ids=["text", "empty", "html", "jpeg"])
def test_match_set_refuses_a_local_file_that_is_not_audio(cli, demo, tmp_path, content):
    fake = tmp_path / "song.mp3"
    fake.write_bytes(content)
    line = _one_line(cli("match", "set", demo.track_ids[0], str(fake)))
    assert line.startswith("error: ") and "not an audio file" in line and str(fake) in line
    assert cli("match", "list", "--json").stdout.strip() in ("[]", "")


def test_match_set_takes_real_audio_whatever_its_container(cli, demo, world, media_cache, tmp_path):
    webm = media_cache / "media" / "bad-input.webm"
    world.audio("bad-input", 1, 500)
    mp3 = tmp_path / "tone.mp3"
    from tunecrate.media.ffmpeg import encode_mp3, find_ffmpeg

    encode_mp3(find_ffmpeg(), webm, mp3, "v0")
    for path in (webm, mp3):
        result = cli("match", "set", demo.track_ids[0], str(path))
        assert result.exit_code == 0, result.output


def test_deciding_before_loading_says_so_on_stderr(cli, demo):
    future = fake_id("bad-input:later")
    for args in (("match", "skip", future), ("match", "set", future, demo.sources[demo.track_ids[0]])):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        line = _one_line(result, 0)
        assert line == f"note: {future} is not in the library yet: the decision applies when it is loaded"
        assert future in result.stdout
    # A track the library holds gets no note.
    assert cli("match", "set", demo.track_ids[0], demo.sources[demo.track_ids[0]]).exit_code == 0
    assert cli("track", demo.track_ids[0]).exit_code == 0
    assert cli("match", "skip", demo.track_ids[0]).stderr == ""


@pytest.mark.parametrize("ref", ["not-an-id", "abc", "../../etc/passwd", "spotify:album:" + "A" * 22, ""])
def test_a_malformed_track_id_is_refused(cli, ref):
    for args in (("match", "skip", ref), ("match", "set", ref, "https://example.com/a.webm")):
        line = _one_line(cli(*args))
        assert line.startswith("error: ")


def test_a_failed_single_track_load_says_why_on_stderr(cli, demo, world):
    track_id = demo.track_ids[0]
    assert cli("match", "set", track_id, world.media.url("missing.webm")).exit_code == 0
    result = cli("track", track_id)
    assert result.exit_code == 1
    assert "failed=1" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and track_id in lines[0] and "404" in lines[0]


def test_wrong_kind_of_link_reads_well(cli, demo):
    line = _one_line(cli("playlist", f"https://open.spotify.com/album/{demo.album_id}"))
    assert "expected a playlist link, got an album link" in line
