"""Scoring candidate recordings against a track, and deciding on a match.

A :class:`~tunecrate.core.types.Candidate` (a YouTube Music song, a YouTube
video, a local file, a pinned URL) is scored against the
:class:`~tunecrate.core.types.TrackInfo` that Spotify describes. As in beets'
``autotag/distance.py``, the score is a sum of named, weighted components, so
that a user can be told why a candidate lost:

==============  ==========================================================
component       contribution
==============  ==========================================================
``title``       ``WEIGHTS["title"]`` × title similarity in ``[0, 1]``
``artist``      ``WEIGHTS["artist"]`` × artist similarity in ``[0, 1]``
``duration``    ``WEIGHTS["duration"]`` × duration closeness in ``[0, 1]``
``verified``    ``WEIGHTS["verified"]`` when the provider vouches for it
``version``     ``0`` or a negative penalty (acoustic, demo, wrong remix…)
``unchecked``   only for a track of unknown duration or partial artists:
                the negative amount that holds the total to
                :data:`UNCHECKED_CEILING` (below)
``isrc``        ``1.0`` when the ISRCs are equal (then it is the only
                component and the total is 1.0), else ``0.0``
==============  ==========================================================

``Score.total`` is the sum of those components, clipped to ``[0, 1]``. One
more key, ``duration_delta_s``, records the measured difference (candidate
minus track, in seconds) and is absent when either duration is unknown; it is
a measurement, not a contribution.

Components the track cannot be compared on are left out, and the others
are scaled up to the same maximum, as beets' distance normalises over the
components it could compute. A track whose duration the source did not know
(``not track.knows("duration_ms")``, or 0: an account-data export row) has
no ``duration`` key, and ``title``, ``artist`` and ``verified`` each count
``1 / (1 - WEIGHTS["duration"])`` times as much: a missing duration is no
penalty, and every candidate of that track is ranked on the same footing.
A *candidate* of unknown duration is another matter: the track's duration
is known, so it gets the neutral 0.5 closeness and loses to one that fits.
The ``version`` penalty is scaled alike.

Without a duration the length of a video cannot be checked (an intro, a
skit, another edit), so only a candidate that is surely the released audio
(a YouTube Music song, a ``"- Topic"`` upload, an "Official Audio" upload,
a local file, a pinned source) with title and artist similarities of 0.9 or
more may be accepted; any other gets an ``unchecked`` component that holds
its total to :data:`UNCHECKED_CEILING`, so that it waits for review. And
:func:`decide` holds a match for review when another recording (another
length, other credits) scores as well.

A track whose artist list may be partial (``not track.knows("artists")``:
an export names only the primary artist) treats the other artists a
candidate credits (``"Gorillaz feat. Kali Uchis"``) as artists the source
left out, not as the mark of another version, provided the credit list
starts with the track's artist (``"JAY-Z, Linkin Park"`` is a mashup). A
guest named in a candidate's title that the track's title does not name
(``"Believer (feat. Lil Wayne)"``) may be a left-out artist or another
version: that candidate gets the ``unchecked`` ceiling too. Guests that the
track's own title credits (``"Song (feat. X)"``) count as its artists.

Hard version mismatches (a live, remix, cover, karaoke, instrumental, sped
up, slowed, nightcore, 8D or bass-boosted recording, a reaction, tutorial,
preview or dance-practice video, where the track is none of these) are
rejected outright: ``Score.rejected`` names the reason and the total is 0.
A version the Spotify title itself names (``"Song - Live at Wembley"``,
``"Song (X Remix)"``) is not a mismatch, and a candidate that lacks it, or
names another venue or remixer, loses points. Softer differences (acoustic,
demo, a cappella, extended, clean against explicit, another language, a
re-recording such as "Taylor's Version") are penalties in ``version``. A
guest artist the track does not credit (``"Song (feat. X)"``) lowers
``artist``: it is another version of the song. A guest the track's own title
names counts as credited.

Titles are compared after :func:`normalize_title`, which removes feature
credits, remaster and edition tags and video noise, so that
``"Artist - Song (Official Video) [HD]"`` and ``"Song - Remastered 2011"``
both come down to the song's name.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from tunecrate.core.types import Candidate, Match, Score, TrackInfo

__all__ = [
    "WEIGHTS",
    "Decision",
    "Thresholds",
    "decide",
    "explain",
    "normalize_title",
    "rank",
    "search_key",
    "score",
    "version_tags",
]

#: Weight of each positive component; a perfect, verified candidate totals 1.0.
WEIGHTS: dict[str, float] = {"title": 0.35, "artist": 0.35, "duration": 0.25, "verified": 0.05}
#: Highest total of a candidate whose length cannot be checked and that is not surely the released
#: audio (see the module docstring): below the default accept threshold, so it is held for review.
UNCHECKED_CEILING = 0.85
#: For a track of unknown duration, other candidates within this much of the best one that are
#: another recording (:func:`_other_recording`) make the decision a review.
AMBIGUITY_MARGIN = 0.05
_AUDIO_MARK = re.compile(r"\b(?:official )?audio\b(?! only)")


@dataclass(frozen=True)
class Thresholds:
    """Where totals turn into decisions (totals are in ``[0, 1]``).

    ``total >= accept``: the match is taken without asking;
    ``review <= total < accept``: the best candidate is suggested to the
    user; below ``review``: the track stays unresolved.
    Raises ``ValueError`` unless ``0 <= review <= accept <= 1``.
    """

    accept: float = 0.87
    review: float = 0.72

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.accept <= 1.0:
            raise ValueError(
                f"thresholds must satisfy 0 <= review <= accept <= 1, "
                f"got review={self.review} accept={self.accept}"
            )


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide` for one track.

    ``status`` is ``"accepted"``, ``"review"`` or ``"unresolved"``; ``best``
    is the top match that was not rejected (``None`` when every candidate
    was rejected or there were none); ``ranked`` holds every match, best
    first, rejected ones last. ``reason`` is a one-line explanation when a
    rule other than the thresholds held the best match for review (two
    recordings fit a track of unknown duration), else ``None``.
    """

    status: str
    best: Match | None
    ranked: tuple[Match, ...]
    reason: str | None = None


# --------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "《": '"',
        "》": '"',
        "〈": '"',
        "〉": '"',
        "【": "[",
        "】": "]",
        "〔": "[",
        "〕": "]",
        "〖": "[",
        "〗": "]",
    }
)


#: Strings whose normalised forms are kept: matching a playlist scores each track against several
#: candidates, and a candidate (a media server's track) against several tracks.
_CACHE = 1 << 16


@lru_cache(maxsize=_CACHE)
def _fold(text: str) -> str:
    """NFKC, casefold, strip accents from Latin letters, unify dashes, quotes, brackets.

    Accents are only dropped after Latin base letters, so Japanese dakuten and
    other scripts keep their marks.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    kept: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch) and kept and ord(kept[-1]) < 0x250:
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_TRANSLATE)


@lru_cache(maxsize=_CACHE)
def _words(folded: str) -> str:
    """Turn folded text into space-separated word tokens (``"Don't"`` → ``"dont"``).

    ``&`` and ``+`` and a lone ``n`` become ``and``; ``$`` becomes ``s``
    (``Ke$ha``); ``!`` inside a word becomes ``i`` (``P!nk``). Every other
    non-word character separates words. Works for any script.
    """
    text = re.sub(r"(?<=\w)'(?=\w)", "", folded)
    text = re.sub(r"(?<=\w)!(?=\w)", "i", text)
    text = text.replace("$", "s").replace("&", " and ").replace("+", " and ")
    text = re.sub(r"[\W_]+", " ", text)
    return " ".join("and" if w == "n" else w for w in text.split())


def search_key(text: str) -> str:
    """The form of ``text`` that searches compare: folded (case, accents, dashes, quotes) and
    reduced to space-separated words (``"Beyoncé & JAY-Z"`` → ``"beyonce and jay z"``)."""
    return _words(_fold(text))


_FEAT_BRACKET = re.compile(r"[(\[]\s*(?:feat\.?|ft\.?|featuring|with)\s[^)\]]*[)\]]")
_FEAT_INLINE = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s.*?(?=\s[-|]\s|[(\[]|$)")
_BRACKET = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]|\{([^{}]*)\}")
_PART_SEPARATOR = re.compile(r"\s+[-~]+\s+|\s*\|+\s*|\s+//\s+|\s+/\s+")
_QUOTED = re.compile(r"\"([^\"]+)\"|(?:^|(?<=\s))'([^']+)'(?=\s|$|[^\w])")

#: Phrases that say nothing about which recording it is (on word tokens). They
#: are safe to drop even from a dash-separated part of a title.
_NOISE_PHRASES = (
    r"(?:official|officiel|oficial|ufficiale|offizielles?)(?: (?:music|lyric|hd))?"
    r"(?: (?:video|videoclip|audio|clip))?",
    r"(?:music|lyrics?|hd|4k) (?:video|audio)",
    r"(?:video|audio|clip|videoclip) (?:oficial|officiel|ufficiale)",
    r"lyrics?|letras?|paroles|testo|songtext|with lyrics|hd|hq|uhd|4k|8k|1080p|720p|hi res",
    r"mv|m v|visuali[sz]er|animated video|audio only|premiere|out now",
    r"(?:digital(?:ly)? )?remaster(?:ed)?|remasterizado|remasterise[de]?|\d{4}",
    r"(?:single|album|original|\d{4}|remastered|remaster|bonus|special|deluxe|digital|lp|7|12)"
    r" version|original mix",
    r"(?:super )?(?:deluxe|expanded|anniversary|special|legacy|collectors?|\d+(?:st|nd|rd|th)"
    r"(?: anniversary)?)(?: edition)?|edition",
    r"bonus track|bonus|full (?:video )?song|video song|new song",
    r"colou?r coded|eng|rom|han|sub(?:s|titles|titulado|titulada)?",
    r"from\b.*|soundtrack|ost|motion picture|prod\b.*|produced by\b.*",
    r"가사|歌詞|和訳|公式",
)
_NOISE = re.compile(r"\b(?:" + "|".join(_NOISE_PHRASES) + r")\b")
#: Inside brackets even bare words such as "(Audio)" or "(Version)" are noise.
_BRACKET_NOISE = re.compile(
    r"\b(?:" + "|".join(_NOISE_PHRASES)
    + r"|video|audio|music|clip|version|single|album|original|with|full)\b"
)
_TRAILING_NOISE = re.compile(
    r"\s+(?:(?:official\s+)?(?:music\s+|lyrics?\s+|hd\s+)?(?:video|audio|mv|m v|visuali[sz]er)"
    r"|official|lyrics?|with lyrics|hd|hq|4k)$"
)


def _is_noise(words: str, pattern: re.Pattern[str] = _NOISE) -> bool:
    """True when a segment holds only noise (``"2011 remaster"``, ``"official video"``)."""
    return not pattern.sub(" ", words).strip()


def _strip_trailing_noise(words: str) -> str:
    """Remove ``"… official video"`` style tails, keeping at least one word."""
    while True:
        stripped = _TRAILING_NOISE.sub("", words)
        if stripped == words or not stripped.strip():
            return words
        words = stripped


@dataclass(frozen=True)
class _Part:
    """One dash-separated part of a title, as word strings.

    ``plain`` is the text outside brackets and ``runs`` the same split at
    each bracket; ``brackets`` holds the non-noise bracket contents,
    ``whole`` all of it in the original order and ``quoted`` the contents of
    quotes (K-pop and J-pop videos quote the song name).
    """

    plain: str
    runs: tuple[str, ...]
    brackets: tuple[str, ...]
    whole: str
    quoted: tuple[str, ...]


@lru_cache(maxsize=_CACHE)
def _parse(title: str) -> tuple[_Part, ...]:
    """Split a title into its dash-separated parts, without credits and noise.

    ``"Artist - Song (feat. X) [Official Video]"`` → parts ``"artist"`` and
    ``"song"``. Noise brackets and noisy tails are dropped; a part made only
    of noise (``"Remastered 2011"``) is kept here, because a song may be
    called ``"1999"``, and left out by :func:`normalize_title`.
    """
    folded = _fold(title)
    folded = _FEAT_BRACKET.sub(" ", folded)
    folded = _FEAT_INLINE.sub(" ", folded)
    parts: list[_Part] = []
    for raw in _PART_SEPARATOR.split(folded):
        items: list[tuple[bool, str]] = []
        pos = 0
        for m in _BRACKET.finditer(raw):
            items.append((False, raw[pos : m.start()]))
            items.append((True, next(g for g in m.groups() if g is not None)))
            pos = m.end()
        items.append((False, raw[pos:]))
        kept: list[tuple[bool, str]] = []
        for in_brackets, text in items:
            words = _words(text) if in_brackets else _strip_trailing_noise(_words(text))
            first_plain = not in_brackets and not any(not b for b, _ in kept)
            noise = _BRACKET_NOISE if in_brackets else _NOISE
            if words and (first_plain or not _is_noise(words, noise)):
                kept.append((in_brackets, words))
        quoted = tuple(
            q for q in (_words(a or b) for a, b in _QUOTED.findall(raw)) if q and not _is_noise(q)
        )
        if kept:
            parts.append(
                _Part(
                    plain=" ".join(w for b, w in kept if not b),
                    runs=tuple(w for b, w in kept if not b),
                    brackets=tuple(w for b, w in kept if b),
                    whole=" ".join(w for _, w in kept),
                    quoted=quoted,
                )
            )
    return tuple(parts)


@lru_cache(maxsize=_CACHE)
def normalize_title(title: str) -> str:
    """Reduce a track or video title to comparable words.

    Strips feature credits (``feat.``, ``ft.``, ``featuring``, ``(with X)``),
    remaster and edition tags (``"- Remastered 2011"``, ``"(2011 Remaster)"``,
    ``"(Deluxe Edition)"``), video noise (``"[Official Video]"``,
    ``"(Official Audio)"``, ``"(Lyrics)"``, ``【MV】``), then case (NFKC +
    casefold), accents on Latin letters and punctuation. Version words are kept
    (``"Song - Live at Wembley"`` → ``"song live at wembley"``) so that
    :func:`version_tags` can still see them. Returns ``""`` for an empty title.
    """
    parts = _parse(title)
    useful = [p.whole for p in parts if not _is_noise(p.whole)] or [p.whole for p in parts[:1]]
    return " ".join(useful)


# --------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------

#: Version tags and the word patterns (on :func:`_words` output) that signal them.
_VERSION_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "live": r"\b(?:live|unplugged|en vivo|ao vivo|en directo|in concert|en concert|"
        r"tiny desk|sessions?|концерт|концертное|живое)\b|ライブ|라이브",
        "remix": r"\b(?:remix(?:es|ed)?|rmx|rework|bootleg|mash ?up|vip|re ?edit|flip|ремикс)\b"
        r"|리믹스|リミックス",
        "karaoke": r"\b(?:karaoke|караоке|backing track|sing ?along|in the style of|"
        r"minus one|noraebang)\b|カラオケ|노래방",
        "instrumental": r"\b(?:instrumental|inst|off vocal|type beat|минусовка)\b|インスト",
        "sped up": r"\b(?:sped up|speed up|spedup|sped)\b",
        "slowed": r"\b(?:slowed|daycore)\b",
        "nightcore": r"\bnightcore\b",
        "8d": r"\b(?:8d|16d|3d audio)\b",
        "bass boosted": r"\bbass ?boost(?:ed)?\b",
        "reaction": r"\b(?:reaction|reacts?|reacting)\b",
        "tutorial": r"\b(?:tutorial|lesson|how to play|chords)\b",
        "preview": r"\b(?:teaser|trailer|snippet|preview)\b",
        "acoustic": r"\b(?:acoustic|acustic[ao]|acoustique|stripped|unplugged)\b",
        "alternate": r"\b(?:piano|orchestral|reimagined|restrung|naked|alternate|alternative "
        r"(?:version|take)|alt (?:version|take)|early version|version \d+|take \d+|rehearsal|"
        r"outtake)\b",
        "demo": r"\bdemo\b",
        "mono": r"\bmono\b",
        "stereo": r"\bstereo\b",
        "a cappella": r"\b(?:a ?capp?ella|acc?app?ella|vocals? only)\b",
        "reverb": r"\breverb\b",
        "extended": r"\b(?:extended|\d+ hours?|\d+ min(?:ute)?s? version)\b",
        "radio edit": r"\b(?:radio (?:edit|mix|version)|single edit|short edit)\b|^edit$",
        "clean": r"\b(?:clean|censored)\b",
        "explicit": r"\b(?:explicit|uncensored|dirty)\b",
        "re-recorded": r"\b(?:re ?recorded|(?!bonus|deluxe|this|its|his)\w+s version)\b",
        "cover": r"\b(?:covers?|covered|tribute|parody|cast (?:version|recording)|кавер)\b"
        r"|歌ってみた|弾いてみた|커버",
        "video extra": r"\b(?:dance practice|choreography|behind the scenes|making of|interview|"
        r"fan ?cam|relay dance|mirrored)\b",
    }.items()
}
#: Language versions: ``"English Version"`` gives the tag ``"english version"``.
_LANGUAGE = re.compile(
    r"\b(english|spanish|japanese|korean|chinese|french|german|italian|portuguese|"
    r"espanol|ingles) (?:version|ver)\b"
)
#: ``"<word> mix"``/``"<word> edit"`` is a remix unless the word is a year or
#: listed here: the plain recording, or a tag its own pattern finds.
_NAMED = re.compile(r"\b(\w+) (?:mix|edit)\b")
_PLAIN_NAMED = frozenset(
    "original album single main radio extended stereo mono short clean explicit dirty "
    "soundtrack new final full".split()
)

#: Tags that disqualify a candidate the track does not share.
_HARD = frozenset(
    {"live", "remix", "cover", "karaoke", "instrumental", "sped up", "slowed", "nightcore",
     "8d", "bass boosted", "reaction", "tutorial", "preview", "video extra"}
)
#: Penalty when the candidate has a version the track lacks.
_EXTRA_PENALTY = {
    "acoustic": 0.25, "alternate": 0.25, "demo": 0.25, "a cappella": 0.35, "reverb": 0.2,
    "extended": 0.12, "radio edit": 0.03, "re-recorded": 0.2, "mono": 0.05, "stereo": 0.05,
}
#: Penalty for a language version (``"japanese version"``) the track is not, and missing.
_LANGUAGE_PENALTY = 0.25
#: Penalty when the track names a version the candidate lacks. Radio edits
#: and explicit tags are often left out of video titles: no penalty.
_MISSING_PENALTY = {tag: 0.3 for tag in _HARD} | {
    "acoustic": 0.25, "alternate": 0.25, "demo": 0.25, "a cappella": 0.3, "reverb": 0.2,
    "extended": 0.12, "re-recorded": 0.2, "clean": 0.15, "mono": 0.05, "stereo": 0.05,
}
#: Penalty for a clean candidate of an explicit track, and for an explicit
#: candidate of a track that is not.
_CLEAN_PENALTY = 0.15
_EXPLICIT_PENALTY = 0.03
#: Tags whose wording identifies the recording (the venue, the remixer).
_DETAILED = frozenset({"live", "remix"})
#: Penalty for a wrong venue or remixer (scaled by dissimilarity), and for
#: a remixer named by the candidate when the track names none.
_DETAIL_PENALTY = 0.25
_UNNAMED_DETAIL_PENALTY = 0.1
#: Penalty for other qualifier words of the track ("Take 1", "Versión Pop")
#: missing from the candidate, scaled by the share missing.
_QUALIFIER_PENALTY = 0.12
_DETAIL_STOPWORDS = frozenset(
    "at in from the on of a and de la le en by feat ft rmx version mix edit performance "
    "recorded".split()
)
#: Tags a channel name can give away ("Sing King Karaoke", "Nightcore Reality").
_CHANNEL_TAGS = frozenset({"karaoke", "cover", "nightcore", "8d", "sped up", "slowed", "instrumental"})
#: Tags an album name gives to all of its tracks ("MTV Unplugged (Live)").
_ALBUM_TAGS = frozenset({"live", "acoustic"})


def _tag_hits(words: str) -> Counter[str]:
    """How many times each version tag is named in ``words`` (a :func:`_words` string); a fresh Counter."""
    return Counter(_tag_counts(words))


@lru_cache(maxsize=_CACHE)
def _tag_counts(words: str) -> dict[str, int]:
    hits: Counter[str] = Counter()
    for tag, pattern in _VERSION_PATTERNS.items():
        count = sum(1 for _ in pattern.finditer(words))
        if count:
            hits[tag] = count
    for m in _NAMED.finditer(words):
        if m.group(1) not in _PLAIN_NAMED and not m.group(1).isdigit():
            hits["remix"] += 1
    for m in _LANGUAGE.finditer(words):
        hits[f"{m.group(1)} version"] += 1
    return dict(hits)


def version_tags(text: str) -> frozenset[str]:
    """The version tags that ``text`` (a title, a qualifier, a channel) names.

    Tags: ``live``, ``remix``, ``cover``, ``karaoke``, ``instrumental``,
    ``sped up``, ``slowed``, ``nightcore``, ``8d``, ``bass boosted``,
    ``reaction``, ``tutorial``, ``preview``, ``acoustic``, ``alternate``
    (piano, orchestral, "Take 2"), ``demo``, ``mono``, ``stereo``,
    ``a cappella``, ``reverb``,
    ``extended``, ``radio edit``, ``clean``, ``explicit``, ``re-recorded``
    (``"Taylor's Version"``), ``video extra`` (dance practice, interview)
    and one tag per language version (``"english version"``).
    ``version_tags("Song (Slowed + Reverb)")`` → ``{"slowed", "reverb"}``.
    Words are matched anywhere, so pass qualifiers rather than a title whose
    name is itself a version word (``"Live Forever"``).
    """
    return frozenset(_tag_hits(_words(_fold(text))))


def _version_starts(words: str) -> list[int]:
    """Character offsets (> 0) where a version phrase begins in ``words``."""
    starts = {
        m.start()
        for pattern in (*_VERSION_PATTERNS.values(), _NAMED)
        for m in pattern.finditer(words)
        if m.start() > 0
    }
    return sorted(starts)


def _detail(segments: Iterable[str]) -> str:
    """The identifying words of qualifiers (``"live at wembley 1986"`` → ``"wembley 1986"``).

    Drops version phrases, stop words, noise words and numbers of one or two
    digits (day and month of a date).
    """
    words: list[str] = []
    for seg in segments:
        for pattern in _VERSION_PATTERNS.values():
            seg = pattern.sub(" ", seg)
        words += [
            w
            for w in seg.split()
            if w not in _DETAIL_STOPWORDS
            and not (w.isdigit() and len(w) <= 2)
            and (w.isdigit() or not _BRACKET_NOISE.fullmatch(w))
        ]
    return " ".join(words)


def _coverage(wanted: str, offered: str) -> float:
    """Share of the words of ``wanted`` that occur (fuzzily) among those of ``offered``."""
    want, have = wanted.split(), offered.split()
    if not want:
        return 1.0
    found = sum(1 for w in want if any(fuzz.ratio(w, h) >= 85 for h in have))
    return found / len(want)


# --------------------------------------------------------------------------
# Artists
# --------------------------------------------------------------------------

_CHANNEL_SUFFIX = re.compile(
    r"(?:\s*-\s*topic|vevo|\s*official(?:\s*(?:artist|music|youtube))?(?:\s*channel)?|"
    r"\s*officiel|\s*oficial|\s*channel|\s*music|\s*tv)$"
)
_CHANNEL_PREFIX = re.compile(r"^(?:official|the official)\s*")
_ARTIST_SPLIT = re.compile(
    r"\s*(?:,|&|\+|;|/|、|\bx\b|×|\band\b|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|\bvs\.?)\s*"
)
#: Guests credited in a title: ``"(feat. X)"``, ``"[with X]"``, ``" ft. X - …"``.
_FEAT_NAMES = re.compile(
    r"[(\[]\s*(?:feat\.?|ft\.?|featuring|with)\s([^)\]]+)[)\]]"
    r"|\s(?:feat\.?|ft\.?|featuring)\s(.+?)(?=\s[-|]\s|[(\[]|$)"
)
#: Artist similarity kept when the candidate credits a guest the track does not.
_GUEST_FACTOR = 0.55
#: Share of the artist similarity kept when no guest of the track is found:
#: a channel name rarely lists guests (True: the provider credits artists).
_MISSING_GUEST_KEEP = {False: 0.92, True: 0.6}
#: Providers whose ``artist`` is a credit list rather than a channel name.
_CREDITING_PROVIDERS = frozenset({"ytmusic", "local"})


def _artist_names(raw: str) -> list[str]:
    """Word strings under which ``raw`` (an artist or a channel) may appear (a fresh list; see
    :func:`_artist_forms`)."""
    return list(_artist_forms(raw))


@lru_cache(maxsize=_CACHE)
def _artist_forms(raw: str) -> tuple[str, ...]:
    """Word strings under which ``raw`` (an artist or a channel) may appear.

    Includes the whole name, the name without channel affixes (``VEVO``,
    ``- Topic``, ``Official``), each artist of a list (``"A, B & C"``,
    ``"A feat. B"``), aliases in brackets (``"BTS (방탄소년단)"``) and the
    name without a leading "the".
    """
    folded = _fold(raw).strip()
    stripped = folded
    while True:
        shorter = _CHANNEL_PREFIX.sub("", _CHANNEL_SUFFIX.sub("", stripped)).strip()
        if shorter == stripped or not shorter:
            break
        stripped = shorter
    names = {folded, stripped}
    for name in list(names):
        outside = _BRACKET.sub(" ", name)
        names.add(outside)
        names.update(next(g for g in m.groups() if g is not None) for m in _BRACKET.finditer(name))
        names.update(_ARTIST_SPLIT.split(outside))
    forms = set()
    for name in names:
        words = _words(name)
        if words:
            forms.add(words)
            if words.startswith("the "):
                forms.add(words[4:])
    return tuple(sorted(forms))


def _name_similarity(track_name: str, cand_name: str) -> float:
    """Similarity in ``[0, 1]`` of two artist names (word strings), spaces ignored.

    Exact: 1.0; one name the start or end of the other, 4 characters or more
    (``"kenshiyonezu"`` in ``"kenshiyonezu米津玄師"``): 0.9; otherwise the
    rapidfuzz ratio mapped so that unrelated names (ratio 0.65 or less) score 0.
    """
    a, b = track_name.replace(" ", ""), cand_name.replace(" ", "")
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 4 and (b.startswith(a) or b.endswith(a) or a.startswith(b)):
        return 0.9
    return max(0.0, (fuzz.ratio(a, b) / 100 - 0.65) / 0.35)


def _is_credited(name: str, track_artists: Sequence[Sequence[str]], at_least: float = 0.9) -> bool:
    """True when ``name`` (a word string) is one of the track's artists."""
    return any(
        _name_similarity(s, name) >= at_least for spellings in track_artists for s in spellings
    )


def _guests(
    candidate: Candidate, track_artists: Sequence[Sequence[str]], *, titles: bool = True,
    credits: bool = True,
) -> list[str]:
    """Artists the candidate credits that the track does not.

    Looks, when ``titles`` is True, at guests named in the title
    (``"(feat. X)"``) and, when ``credits`` is True, for providers whose
    ``artist`` is a credit list, at the other names of that list when it
    names one of the track's artists.
    """
    names = _title_guests(candidate.title) if titles else []
    if credits and candidate.provider in _CREDITING_PROVIDERS:
        whole = _words(_fold(candidate.artist))
        pieces = _ARTIST_SPLIT.split(_fold(candidate.artist))
        if not _is_credited(whole, track_artists, at_least=1.0) and any(
            _is_credited(_words(p), track_artists) for p in pieces
        ):
            names += pieces
    return [w for w in (_words(n) for n in names) if w and not _is_credited(w, track_artists)]


def _title_guests(title: str) -> list[str]:
    """The guests a track title credits (``"Song (feat. A & B)"`` → ``["A", "B"]``, folded)."""
    return [
        n
        for m in _FEAT_NAMES.finditer(_fold(title))
        for n in _ARTIST_SPLIT.split(m.group(1) or m.group(2))
        if n.strip()
    ]


def _leads_credits(candidate: Candidate, main: Sequence[str]) -> bool:
    """True when the candidate's credit list starts with the track's main artist (its spellings)."""
    first = _ARTIST_SPLIT.split(_fold(candidate.artist))[0]
    return _is_credited(_words(first), [main])


def _artist_similarity(
    track_artists: Sequence[Sequence[str]], candidate: Candidate, title_words: str, partial: bool = False,
    own_title: str = "",
) -> float:
    """Artist similarity in ``[0, 1]``.

    ``track_artists`` holds the spellings of each credited artist, main
    artist first. Each is looked up among the candidate's artist or channel
    names and, failing that, in its title (``"Artist - Song"`` uploaded by a
    label or a lyric channel: 0.95). The main artist counts most; missing
    guests cost up to 8 % on a channel and 40 % in a credit list
    (:data:`_MISSING_GUEST_KEEP`); a channel of a guest alone scores 0.85 of
    its match. A guest the track does not credit multiplies the result by
    :data:`_GUEST_FACTOR`: it is another version of the song. When the
    track's list is ``partial`` (the source names only the primary artist),
    the other names of a credit list that starts with the main artist are
    artists the source left out, not guests, and a guest in the candidate's
    title (``"Song (feat. X)"``) is left to :func:`score`, which holds such
    a candidate for review: it may be either.

    Words the candidate's title shares with the track's own title
    (``own_title``: "Song (feat. X)" copied by any upload of the song) show
    that a guest of the track is there, but credit no one alone: neither
    the main artist nor a guest's channel is found through them.
    """
    cand_names = _artist_names(candidate.artist)
    credit_words = _subtract(title_words, Counter(own_title.split()))
    found, credited = [], []
    for spellings in track_artists:
        by_name = max((_name_similarity(s, c) for s in spellings for c in cand_names), default=0.0)
        in_title = any(_contains_words(title_words, s) for s in spellings)
        found.append(max(by_name, 0.95) if in_title else by_name)
        credited.append(max(by_name, 0.95) if any(_contains_words(credit_words, s) for s in spellings) else by_name)
    if not found:
        return 0.0
    main, guests = credited[0], found[1:]
    similarity = main
    if guests:
        keep = _MISSING_GUEST_KEEP[candidate.provider in _CREDITING_PROVIDERS]
        share = sum(guests) / len(guests)
        similarity = max(main * (keep + (1.0 - keep) * share), 0.85 * max(credited[1:]))
    credits = not (partial and _leads_credits(candidate, track_artists[0]))
    if _guests(candidate, track_artists, titles=not partial, credits=credits):
        similarity *= _GUEST_FACTOR
    return similarity


# --------------------------------------------------------------------------
# Titles and durations
# --------------------------------------------------------------------------


def _contains_words(haystack: str, needle: str) -> bool:
    """True when the word sequence ``needle`` occurs in ``haystack`` (both word strings)."""
    return bool(needle) and f" {needle} " in f" {haystack} "


def _remove_words(haystack: str, needle: str) -> str:
    """``haystack`` without every occurrence of the word sequence ``needle``."""
    while _contains_words(haystack, needle):
        padded = f" {haystack} "
        i = padded.find(f" {needle} ")
        haystack = " ".join((padded[:i] + " " + padded[i + len(needle) + 2 :]).split())
    return haystack


def _subtract(words: str, remove: Counter[str]) -> str:
    """``words`` without the tokens in ``remove``, each used up once (``remove`` is updated)."""
    kept = []
    for w in words.split():
        if remove[w] > 0:
            remove[w] -= 1
        else:
            kept.append(w)
    return " ".join(kept)


def _ratio(a: str, b: str) -> float:
    """Title similarity in ``[0, 1]``.

    The best rapidfuzz ratio of the words, of the words without spaces and
    of the sorted words (``"Remix to Ignition"``, ``"Ignition (Remix)"``),
    mapped so that 0.5 or less scores 0.
    """
    if not a or not b:
        return 0.0
    r = max(
        fuzz.ratio(a, b),
        fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")),
        fuzz.token_sort_ratio(a, b),
    ) / 100
    return max(0.0, (r - 0.5) / 0.5)


_DURATION_CURVE = ((0.0, 1.0), (2.0, 1.0), (5.0, 0.9), (10.0, 0.45), (20.0, 0.1), (40.0, 0.0))


def _duration_similarity(delta_s: float | None) -> float:
    """Closeness in ``[0, 1]`` for a duration difference in seconds.

    Unknown: 0.5. Up to 2 s: 1.0; 5 s (a lyric video's intro): 0.9; 10 s:
    0.45; 20 s: 0.1; 40 s and more: 0; linear in between. Past ~10 s a video
    carries a skit or another edit and should not be taken without a look.
    """
    if delta_s is None:
        return 0.5
    d = abs(delta_s)
    for (x0, y0), (x1, y1) in zip(_DURATION_CURVE, _DURATION_CURVE[1:]):
        if d <= x1:
            return y0 + (y1 - y0) * (d - x0) / (x1 - x0)
    return 0.0


@dataclass(frozen=True)
class _TitleMatch:
    """The best reading of a candidate title.

    ``similarity`` to the track title in ``[0, 1]``; ``name`` the words taken
    as the song's name; ``qualifiers`` what remains of the title, one string
    per segment (other parts, brackets, a cut-off tail).
    """

    similarity: float
    name: str
    qualifiers: tuple[str, ...]


def _title_match(
    track_forms: Sequence[str], parts: Sequence[_Part], artists: Sequence[str]
) -> _TitleMatch:
    """Find which piece of a candidate title names the song.

    Tries every part, its text outside brackets (whole and run by run), its
    brackets and its quotes; each also with the artists' names removed and
    cut where a version phrase starts. The best :func:`_ratio` against any
    of ``track_forms`` wins.
    """
    best = _TitleMatch(0.0, "", tuple(p.whole for p in parts))
    for index, part in enumerate(parts):
        # In a fixed order (not a set's, which changes with the hash seed): of equally good
        # variants the first wins, and what it leaves over decides the version penalty.
        for source in dict.fromkeys((part.plain, part.whole, *part.runs, *part.brackets, *part.quoted)):
            variants = {source: None}
            for name in artists:
                variants |= dict.fromkeys(_remove_words(v, name) for v in variants)
            variants |= dict.fromkeys(v[:i].strip() for v in list(variants) for i in _version_starts(v))
            for variant in variants:
                sim = max(_ratio(form, variant) for form in track_forms)
                if sim > best.similarity:
                    used = Counter(variant.split())
                    rest = [_subtract(seg, used) for seg in (*part.runs, *part.brackets)]
                    rest += [p.whole for j, p in enumerate(parts) if j != index]
                    best = _TitleMatch(sim, variant, tuple(q for q in rest if q))
    return best


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------


def _is_album_audio(candidate: Candidate) -> bool:
    """Whether the candidate is very likely the released audio rather than a video of it: a YouTube
    Music song, an auto-generated ``"<artist> - Topic"`` upload, an upload titled "(Official) Audio",
    a local file or a pinned source."""
    if candidate.provider in ("local", "pinned") or (candidate.provider == "ytmusic" and candidate.verified):
        return True
    if _fold(candidate.artist).rstrip().endswith("- topic"):
        return True
    return bool(_AUDIO_MARK.search(_words(_fold(candidate.title))))


def _scale(absent: Iterable[str]) -> float:
    """How much the present components count so that a perfect candidate still totals 1.0 when
    the ``absent`` components (names in :data:`WEIGHTS`) cannot be computed."""
    missing_weight = sum(WEIGHTS[name] for name in set(absent))
    return 1.0 / (1.0 - missing_weight) if missing_weight else 1.0


def score(track: TrackInfo, candidate: Candidate) -> Score:
    """Score one candidate recording against a track.

    Returns a :class:`Score` whose components are described in the module
    docstring. Equal ISRCs (case-insensitive, both present) give total 1.0
    outright. Otherwise title, artist, duration (ms on both sides; a
    candidate of unknown duration gets the neutral 0.5 closeness), verified
    bonus and version penalties are summed; a hard version mismatch sets
    ``rejected`` (``"version mismatch: live"``) and total 0. What the track
    does not know (``TrackInfo.missing``) is left out as the module
    docstring says. Never raises.
    """
    if track.isrc and candidate.isrc and track.isrc.strip().upper() == candidate.isrc.strip().upper():
        return Score(total=1.0, components={"isrc": 1.0})

    track_parts = _parse(track.title) or (_Part("", (), (), "", ()),)
    head = track_parts[0]
    track_forms = [
        f for f in dict.fromkeys((head.plain, head.whole, normalize_title(track.title), *head.brackets)) if f
    ]
    track_qualifiers = [p.whole for p in track_parts[1:] if not _is_noise(p.whole)]
    track_qualifiers += head.brackets
    partial = not track.knows("artists")
    track_artists = [_artist_names(a) for a in track.artists]
    # A guest the track's own title credits ("Song (feat. X)" tagged with the main artist only, as media
    # servers and files often are) is one of its artists, not another version's.
    for m in _FEAT_NAMES.finditer(_fold(track.title)):
        for name in _ARTIST_SPLIT.split(m.group(1) or m.group(2)):
            if _words(name) and not _is_credited(_words(name), track_artists):
                track_artists.append(_artist_names(name))
    artist_words = sorted({s for names in track_artists for s in names}, key=len, reverse=True)

    cand_parts = _parse(candidate.title)
    title = _title_match(track_forms, cand_parts, artist_words)
    artist_sim = _artist_similarity(track_artists, candidate, _words(_fold(candidate.title)), partial=partial,
                                    own_title=_words(_fold(track.title)))

    duration_known = track.knows("duration_ms") and track.duration_ms > 0
    delta_s = None
    if candidate.duration_ms is not None and duration_known:
        delta_s = (candidate.duration_ms - track.duration_ms) / 1000

    penalty, rejected = _version_penalty(
        track, candidate, head.plain, track_qualifiers, title, artist_words
    )
    similarities = {
        "title": title.similarity,
        "artist": artist_sim,
        "duration": _duration_similarity(delta_s) if duration_known else None,
        "verified": 1.0 if candidate.verified else 0.0,
    }
    scale = _scale(name for name, value in similarities.items() if value is None)
    components = {name: WEIGHTS[name] * value * scale for name, value in similarities.items() if value is not None}
    components.update(version=-penalty * scale, isrc=0.0)
    unchecked_length = not duration_known and not (
        _is_album_audio(candidate) and min(title.similarity, artist_sim) >= 0.9)
    unknown_guest = partial and bool(_guests(candidate, track_artists, credits=False))
    if unchecked_length or unknown_guest:
        components["unchecked"] = -max(0.0, round(sum(components.values()) - UNCHECKED_CEILING, 4))
    total = min(1.0, max(0.0, sum(components.values())))
    if delta_s is not None:
        components["duration_delta_s"] = round(delta_s, 1)
    if rejected:
        return Score(total=0.0, components=components, rejected=rejected)
    return Score(total=round(total, 4), components=components)


def _version_penalty(
    track: TrackInfo,
    candidate: Candidate,
    head_words: str,
    track_qualifiers: Sequence[str],
    title: _TitleMatch,
    artist_words: Sequence[str],
) -> tuple[float, str | None]:
    """The ``version`` penalty (>= 0) and a rejection reason, if any.

    Tags are counted segment by segment (title parts, brackets). A title
    names a version when it names a tag more often than the song's own name
    does (``head_words``: ``"Live Forever"`` is no live version, ``"Live
    Forever (Live)"`` is; ``"Ignition (Remix)"`` matches ``"Remix to
    Ignition"``). A segment that is just one of the track's artists names no
    version (a band called "Live"). Album names add ``live``/``acoustic``;
    channel names, without the track's artist names, add ``karaoke``,
    ``cover``, ``nightcore``… (``"Sing King Karaoke"``).
    """

    def strip(text: str) -> str:
        for name in artist_words:
            text = _remove_words(text, name)
        return text

    def tags_of(segment: str) -> Counter[str]:
        return Counter() if segment in artist_words else _tag_hits(segment)

    own_hits = _tag_hits(head_words)
    track_hits: Counter[str] = sum((tags_of(seg) for seg in (head_words, *track_qualifiers)), Counter())
    track_tags = {t for t, n in track_hits.items() if n > own_hits[t]}
    cand_hits: Counter[str] = sum((tags_of(seg) for seg in (title.name, *title.qualifiers)), Counter())
    cand_tags = {t for t, n in cand_hits.items() if n > own_hits[t]}
    if track.album:
        track_tags |= version_tags(track.album) & _ALBUM_TAGS
    if candidate.album:
        cand_tags |= version_tags(candidate.album) & _ALBUM_TAGS
    cand_tags |= set(_tag_hits(strip(_words(_fold(candidate.artist))))) & _CHANNEL_TAGS

    extra = cand_tags - track_tags
    hard = sorted(extra & _HARD)
    if hard:
        return 0.0, "version mismatch: " + ", ".join(hard)

    missing = track_tags - cand_tags
    penalty = sum(_EXTRA_PENALTY.get(t, 0.0) for t in extra)
    penalty += sum(_MISSING_PENALTY.get(t, 0.0) for t in missing)
    penalty += _LANGUAGE_PENALTY * sum(1 for t in extra | missing if _LANGUAGE.fullmatch(t))
    if "clean" in extra and track.explicit:
        penalty += _CLEAN_PENALTY
    if "explicit" in extra and not track.explicit:
        penalty += _EXPLICIT_PENALTY

    wanted, offered = _detail(track_qualifiers), _detail(title.qualifiers)
    if track_tags & cand_tags & _DETAILED:
        own = strip(offered)
        if wanted:
            similarity = 0.6 if not offered else fuzz.token_set_ratio(wanted, offered) / 100
            if own:
                similarity = max(similarity, _coverage(own, wanted))
            penalty += _DETAIL_PENALTY * (1.0 - similarity)
        elif own:
            penalty += _UNNAMED_DETAIL_PENALTY
    elif not track_tags:
        wanted = " ".join(w for w in strip(wanted).split() if not w.isdigit())
        everything = " ".join((title.name, *title.qualifiers, _words(_fold(candidate.album or ""))))
        penalty += _QUALIFIER_PENALTY * (1.0 - _coverage(wanted, everything))
    return round(penalty, 4), None


# --------------------------------------------------------------------------
# Ranking and decisions
# --------------------------------------------------------------------------


def rank(track: TrackInfo, candidates: Iterable[Candidate]) -> list[Match]:
    """Score every candidate; best first, rejected ones (total 0) last.

    Equal totals put an ISRC match first, then keep the order the candidates
    came in (providers list their best guesses first).
    """
    matches = [Match(c, score(track, c)) for c in candidates]
    matches.sort(
        key=lambda m: (
            m.score.rejected is not None,
            -m.score.total,
            -m.score.components.get("isrc", 0.0),
        )
    )
    return matches


def decide(
    track: TrackInfo, candidates: Iterable[Candidate], thresholds: Thresholds = Thresholds()
) -> Decision:
    """Rank the candidates and decide whether the best one can be taken.

    ``"accepted"`` when the best total reaches ``thresholds.accept``,
    ``"review"`` when it reaches ``thresholds.review``, else
    ``"unresolved"`` (also when there are no candidates or all were rejected).
    For a track of unknown duration, a best match that another recording
    follows within :data:`AMBIGUITY_MARGIN` (:func:`_other_recording`: its
    length differs by more than 10 s, or it credits other artists) is held
    for ``"review"``, with ``reason`` saying so: nothing tells them apart.
    """
    ranked = tuple(rank(track, candidates))
    best = next((m for m in ranked if m.score.rejected is None), None)
    reason = None
    if best is None or best.score.total < thresholds.review:
        status = "unresolved"
    elif best.score.total >= thresholds.accept:
        status = "accepted"
        if not (track.knows("duration_ms") and track.duration_ms > 0):
            rival = next((m for m in ranked if m is not best and m.score.rejected is None
                          and m.score.total >= best.score.total - AMBIGUITY_MARGIN
                          and _other_recording(best.candidate, m.candidate)), None)
            if rival is not None:
                status = "review"
                reason = (f"the track's duration is unknown and two recordings fit: {_label(best.candidate)} "
                          f"and {_label(rival.candidate)}; see `tunecrate match show`")
    else:
        status = "review"
    return Decision(status=status, best=best, ranked=ranked, reason=reason)


#: Durations further apart than this (ms) are two recordings (an edit, a video with a skit).
_OTHER_RECORDING_MS = 10_000


def _other_recording(a: Candidate, b: Candidate) -> bool:
    """Whether two candidates are plainly different recordings: durations more than 10 s apart
    (both known), or two credit lists naming different artists."""
    if a.duration_ms is not None and b.duration_ms is not None and \
            abs(a.duration_ms - b.duration_ms) > _OTHER_RECORDING_MS:
        return True
    if a.provider in _CREDITING_PROVIDERS and b.provider in _CREDITING_PROVIDERS:
        def names(c: Candidate) -> set[str]:
            return {_words(p) for p in _ARTIST_SPLIT.split(_fold(c.artist)) if _words(p)}
        return names(a) != names(b)
    return False


def _label(candidate: Candidate) -> str:
    """``'Title' by Artist (3:45)`` for messages."""
    seconds = round((candidate.duration_ms or 0) / 1000)
    length = f" ({seconds // 60}:{seconds % 60:02d})" if candidate.duration_ms else ""
    return f"{candidate.title!r} by {candidate.artist}{length}"


def explain(match: Match) -> str:
    """One short line saying why a match scored what it did.

    ``"0.93: title 0.98, artist 1.00, duration -2.1 s (0.95), isrc —"``,
    with ``version`` and ``verified`` added when they count;
    ``"duration unknown"`` alone when the track's duration is unknown (the
    component is absent), ``"duration unknown (0.50)"`` when the candidate's
    is; ``"1.00: isrc match"``; ``"rejected: version mismatch: live"``.
    Similarities are shown unscaled (see the module docstring).
    """
    s = match.score
    if s.rejected:
        return f"rejected: {s.rejected}"
    c = s.components
    if c.get("isrc"):
        return f"{s.total:.2f}: isrc match"
    scale = _scale(name for name in WEIGHTS if name not in c)
    delta = c.get("duration_delta_s")
    if "duration" in c:
        closeness = c["duration"] / (WEIGHTS["duration"] * scale)
        duration = f"duration {'unknown' if delta is None else f'{delta:+.1f} s'} ({closeness:.2f})"
    else:
        duration = "duration unknown"
    bits = [
        f"title {c.get('title', 0.0) / (WEIGHTS['title'] * scale):.2f}",
        f"artist {c.get('artist', 0.0) / (WEIGHTS['artist'] * scale):.2f}",
        duration,
    ]
    if c.get("version"):
        bits.append(f"version {c['version']:+.2f}")
    if c.get("unchecked"):
        bits.append(f"unchecked {c['unchecked']:+.2f}")
    if c.get("verified"):
        bits.append(f"verified +{c['verified']:.2f}")
    bits.append("isrc —")
    return f"{s.total:.2f}: " + ", ".join(bits)
