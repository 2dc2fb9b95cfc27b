import subprocess

from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode

from tunecrate.core.types import TrackInfo
from tunecrate.media.ffmpeg import encode_mp3, find_ffmpeg
from tunecrate.core.images import Cover
from tunecrate.media.tagging import read_tags, write_tags

TRACK = TrackInfo(
    track_id="4uLU6hMCjMI75M1A2tKUQC", title="夜のサイン波 (feat. Ümlaut)", artists=("Ada Byte", "Ümlaut"),
    album="Songs From 127.0.0.1", album_artists=("The Loopbacks",), duration_ms=2000, track_number=3,
    track_total=12, disc_number=1, release_date="2011-05-09", explicit=True, isrc="QZDA26000003",
)


def _mp3(tmp_path, seconds=2):
    ffmpeg = find_ffmpeg()
    src = tmp_path / "tone.wav"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=duration={seconds}", str(src)],
                   check=True)
    out = tmp_path / "tone.mp3"
    encode_mp3(ffmpeg, src, out, "v0")
    return out


def test_encode_gives_decodable_mp3(tmp_path):
    mp3 = MP3(_mp3(tmp_path, 2))
    assert 1.9 < mp3.info.length < 2.2
    assert mp3.info.sample_rate in (44100, 48000)


def test_cbr_320(tmp_path):
    ffmpeg = find_ffmpeg()
    src = tmp_path / "tone.wav"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", str(src)], check=True)
    encode_mp3(ffmpeg, src, tmp_path / "cbr.mp3", "320")
    info = MP3(tmp_path / "cbr.mp3").info
    assert abs(info.bitrate - 320_000) < 1000
    assert info.bitrate_mode != BitrateMode.VBR


def test_tags_round_trip(tmp_path):
    path = _mp3(tmp_path)
    jpeg = b"\xff\xd8\xff\xe0" + b"\0" * 100
    write_tags(path, TRACK, source_url="https://music.youtube.com/watch?v=abc", source_provider="ytmusic",
               match_score=0.93, cover=Cover(jpeg, "image/jpeg"))
    tags = ID3(path)
    assert tags.version == (2, 4, 0)
    assert tags["TIT2"].text == [TRACK.title]
    assert tags["TPE1"].text == ["Ada Byte", "Ümlaut"]
    assert tags["TPE2"].text == ["The Loopbacks"]
    assert tags["TALB"].text == ["Songs From 127.0.0.1"]
    assert tags["TRCK"].text == ["3/12"]
    assert tags["TPOS"].text == ["1"]
    assert str(tags["TDRC"].text[0]) == "2011-05-09"
    assert tags["TSRC"].text == ["QZDA26000003"]
    assert tags["WOAS"].url == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert tags["TXXX:SOURCE_URL"].text == ["https://music.youtube.com/watch?v=abc"]
    assert tags.getall("APIC")[0].data == jpeg and tags.getall("APIC")[0].type == 3
    back = read_tags(path)
    assert back.track == TRACK
    assert (back.source_provider, back.match_score, back.has_cover) == ("ytmusic", 0.93, True)
    assert MP3(path).info.length > 1.5  # still decodable after tagging


def test_retagging_replaces_old_frames(tmp_path):
    path = _mp3(tmp_path)
    write_tags(path, TRACK, cover=Cover(b"\xff\xd8\xff" + b"1" * 10))
    write_tags(path, TrackInfo(track_id=TRACK.track_id, title="New", artists=("X",)))
    tags = ID3(path)
    assert tags["TIT2"].text == ["New"] and "TALB" not in tags and not tags.getall("APIC")


def test_untagged_file_reads_as_none(tmp_path):
    assert read_tags(_mp3(tmp_path)) is None
