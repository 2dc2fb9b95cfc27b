import pytest

from tunecrate.core.errors import InvalidReference
from tunecrate.core.ids import parse_spotify_ref, validate_stored_id

TID = "4uLU6hMCjMI75M1A2tKUQC"


@pytest.mark.parametrize("text,kind", [
    (f"https://open.spotify.com/track/{TID}", "track"),
    (f"https://open.spotify.com/track/{TID}?si=a1b2c3d4e5", "track"),
    (f"https://open.spotify.com/intl-de/track/{TID}?si=x", "track"),
    (f"https://open.spotify.com/intl-pt-BR/album/{TID}", "album"),
    (f"open.spotify.com/playlist/{TID}", "playlist"),
    (f"https://open.spotify.com/playlist/{TID}/#frag", "playlist"),
    (f"spotify:track:{TID}", "track"),
    (f"spotify:user:someone:playlist:{TID}", "playlist"),
    (f"  spotify:album:{TID}\n", "album"),
])
def test_accepted_forms(text, kind):
    ref = parse_spotify_ref(text)
    assert (ref.kind, ref.id) == (kind, TID)
    assert ref.url == f"https://open.spotify.com/{kind}/{TID}"


def test_bare_id_needs_expected_kind():
    assert parse_spotify_ref(TID, "album").kind == "album"
    with pytest.raises(InvalidReference, match="bare id"):
        parse_spotify_ref(TID)


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    ("https://example.com/track/" + TID, "not a Spotify URL"),
    ("https://open.spotify.com/artist/" + TID, "unsupported"),
    ("https://open.spotify.com/track/short", "malformed"),
    ("spotify:track", "malformed Spotify URI"),
    ("spotify:track:../../etc/passwd", "malformed"),
    ("ftp://open.spotify.com/track/" + TID, "not a Spotify URL"),
])
def test_rejected_forms(text, message):
    with pytest.raises(InvalidReference, match=message):
        parse_spotify_ref(text)


def test_kind_mismatch_is_reported():
    with pytest.raises(InvalidReference, match="expected a playlist link, got a track link"):
        parse_spotify_ref(f"spotify:track:{TID}", "playlist")


@pytest.mark.parametrize("value", ["../x", "a/b", "", "likes/..", TID + "x", "..", "LIKES"])
def test_stored_ids_are_validated(value):
    with pytest.raises(InvalidReference):
        validate_stored_id(value)
    assert validate_stored_id("likes") == "likes"
