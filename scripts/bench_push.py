"""Pushing into Plex: requests, matching time, and matching quality, measured in one run.

1. **Requests.** A Plex stand-in holds a music section of ``--library`` tracks (50,000); a library
   playlist of ``--entries`` (500) is pushed into it, then 5% of the playlist changes (half removed,
   half replaced by other tracks of the section) and it is pushed again. Each push's requests are
   counted by kind: pages of the section's listing, other reads, writes. Targets: first push
   ⌈library/page⌉ + at most 6 other reads + the writes; second push at most 8 reads and one write per
   changed entry, and the Plex playlist in the new order. Plex appends what is added and moves each into
   place, so in place those changes would cost one write more than the changed entries (removals, one
   add, a move per added song); the push empties the playlist and adds it back instead (1 + ⌈entries/200⌉
   writes), which its in-place count is printed next to. The Spotify → Plex guide searches Plex once per
   entry, on every run: its counts are printed next to them (computed: one search per entry, plus the
   server and playlist reads).
2. **Matching time** for those entries against the cached index: loading the index from the
   catalogue, building the prefilter, and matching every entry (no HTTP). Target: under 2 s of CPU
   (the wall time is printed too; on a shared machine it also counts other processes' turns).
3. **Quality** on a labelled set of cases (featuring credits, remaster tags, "The", diacritics,
   album-artist compilations, and songs the library does not have next to decoys: live versions,
   covers, other songs of the artist): precision and recall of tunecrate's matching (auto-accepted
   matches; the review band counted apart), next to the guide's 50/30/20 blend of title, artist and
   album similarity (rapidfuzz ``ratio``) with a threshold of 85 over the tracks a Plex title search
   returns, with the album artist (``grandparentTitle``) as the artist.

    python scripts/bench_push.py [--library 50000] [--entries 500] [--page 100]
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz

from tunecrate.core.matching import Thresholds
from tunecrate.core.settings import Settings
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.demo.plex_server import FakePlex
from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.demo.world import StandIns
from tunecrate.library.library import Library
from tunecrate.core.service import CandidateIndex, RemoteTrack, plan_playlist

WORDS = ("midnight harbor paper lantern velvet signal golden echo silver river neon garden broken compass "
         "summer static hollow crown electric orchard quiet thunder winter bloom ocean letter fading satellite "
         "crystal canyon wild heart northern light glass tower burning bridge lonely avenue secret motel "
         "distant shore rose violet ember marble").split()
FIRST = "nova jonah mara felix ines teo lena oskar ruby ezra vera hugo alba milo iris kai nora leon".split()
LAST = "reyes vance holm okafor lind moreau santos kerr blom haddad ortega brandt quinn ivers mori".split()


class CountingPlex(FakePlex):
    """The Plex stand-in, counting requests by kind: listing pages, other reads, writes."""

    def __init__(self, *args, **kwargs) -> None:
        self.counts: Counter = Counter()
        self._count_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _answer(self, method, path, query, headers):
        size = headers.get("x-plex-container-size") or query.get("X-Plex-Container-Size")
        kind = "write" if method != "GET" else (
            "page" if path.endswith("/all") and size not in ("0", None) else "read")
        with self._count_lock:
            self.counts[kind] += 1
        return super()._answer(method, path, query, headers)

    def take(self) -> Counter:
        with self._count_lock:
            counts, self.counts = self.counts, Counter()
        return counts


def plex_spelling(n: int, title: str, artist: str, album: str) -> tuple[str, str, str, str | None]:
    """How the Plex library spells song ``n``: ``(title, artist, album, album artist)``."""
    kind = n % 6
    if kind == 1:
        return f"{title} - Remastered 2011", artist, album, None
    if kind == 2 and artist.startswith("The "):
        return title, artist[4:], album, None
    if kind == 3:
        return title, artist, f"{album} (Deluxe Edition)", None
    if kind == 4:
        return title, artist, "Now That's Music 26", "Various Artists"
    return title, artist, album, None


def build_requests_world(spotify_world: StandIns, plex: CountingPlex, library_size: int, entries: int):
    """The Spotify playlist (``entries`` + spares) and a section of ``library_size`` tracks holding them."""
    rng = random.Random(26)
    section = plex.add_section("Music", "/data/music")
    spare = entries // 10
    album = make_album(fake_id("bp:album"), "Bench Album", ["Bench"], total_tracks=entries + spare)
    tracks, keys = [], []
    for n in range(entries + spare):
        title = " ".join(rng.sample(WORDS, 2)).title() + f" {n}"
        artist = ("The " if n % 3 == 0 else "") + f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        duration = 150_000 + rng.randrange(120_000)
        tracks.append(make_track(fake_id(f"bp:{n}"), title, [artist], album, duration_ms=duration,
                                 isrc=f"QZBP{n:08d}"))
        p_title, p_artist, p_album, p_album_artist = plex_spelling(n, title, artist, "Bench Album")
        keys.append(plex.add_track(section, p_title, p_artist, p_album, duration + rng.randrange(-1500, 1500),
                                   f"/data/music/{n}.mp3", album_artist=p_album_artist))
    for n in range(library_size - len(tracks)):
        title = " ".join(rng.sample(WORDS, rng.choice((1, 2, 3)))).title()
        artist = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        plex.add_track(section, title, artist, f"Filler {n // 12}", 120_000 + rng.randrange(200_000),
                       f"/data/music/filler/{n}.mp3")
    spotify_world.spotify.add_album(album, tracks)
    playlist_id = fake_id("bp:playlist")
    spotify_world.spotify.add_playlist(playlist_id, "Push Bench", tracks[:entries])
    return playlist_id, tracks, keys


def measure_requests(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-push-") as work, StandIns(Path(work)) as world, \
            CountingPlex() as plex:
        work = Path(work)
        playlist_id, tracks, keys = build_requests_world(world, plex, args.library, args.entries)
        settings = Settings.load(environ={}, storage_root=work / "storage", data_root=work / "data",
                                 plex_url=plex.base_url, plex_token=plex.token, plex_page_size=args.page,
                                 **world.settings_overrides())
        with Library(settings) as lib:
            lib.load_playlist(playlist_id)
            plex.take()
            started = time.perf_counter()
            first = lib.push(playlist_id, "plex")
            first_s = time.perf_counter() - started
            first_counts = plex.take()

            n = args.entries
            changed = n // 20
            removed = set(random.Random(5).sample(range(n), changed // 2))
            kept = [t for i, t in enumerate(tracks[:n]) if i not in removed]
            added = tracks[n:n + changed - len(removed)]
            positions = sorted(random.Random(6).sample(range(len(kept) + len(added)), len(added)))
            new_order = list(kept)
            for position, track in zip(positions, added):
                new_order.insert(position, track)
            world.spotify.set_playlist_items(playlist_id, new_order)
            lib.sync(playlist_id)
            plex.take()
            second = lib.push(playlist_id, "plex")
            second_counts = plex.take()
            position = {t["id"]: n for n, t in enumerate(tracks)}
            in_order = plex.playlist_keys("Push Bench") == [keys[position[t["id"]]] for t in new_order]
            r2 = second.report
            in_place = r2.removed + (1 if r2.added else 0) + r2.moved

            # Matching against the cached index, without HTTP.
            tracklist = lib.exporter.tracklist(playlist_id)
            matching_s, matching_cpu_s, matched = time_matching(lib, tracklist, settings)

    pages = math.ceil(args.library / args.page)
    return {
        "first": first_counts, "first_s": first_s, "first_report": first.report, "pages": pages,
        "second": second_counts, "second_report": second.report, "changed": changed, "in_order": in_order,
        "in_place": in_place,
        "matching_s": matching_s, "matching_cpu_s": matching_cpu_s, "matched": matched,
    }


class IndexOnly:
    """A Plex service stand-in over the cached index alone (matching without any request)."""

    name, provider, indexed, exact = "plex", "plex", True, "path"

    def __init__(self, index: CandidateIndex) -> None:
        self.index = index

    def find_playlist(self, title):
        return None

    def exact_matches(self, tracks, library):
        return {}

    def resolve(self, item):
        return item

    def search(self, track):
        return self.index.candidates(track)

    def operations(self, playlist, title, desired):
        return []

    def write(self, playlist, title, desired, progress=None):
        raise AssertionError("not written")


class NoMemory:
    def remembered(self, target, song_ids):
        return {}

    def path_of(self, track_id):
        return None

    def cover_of(self, playlist_id):
        return None


def time_matching(lib: Library, tracks: TrackList, settings: Settings) -> tuple[float, float, int]:
    """Wall and CPU seconds to load the cached index, build the prefilter and match every entry; entries
    matched. The CPU time is what the target is checked on: on a shared machine the wall time also
    counts other processes' turns."""
    from sqlmodel import Session, select

    from tunecrate.db.service_index import ServiceIndexState

    with Session(lib.services.engine) as session:
        index_id = session.exec(select(ServiceIndexState.index_id)).first()
    started, cpu = time.perf_counter(), time.process_time()
    rows = lib.services.service_index(index_id).tracks()
    service = IndexOnly(CandidateIndex(rows))
    plan = plan_playlist(service, tracks, NoMemory(), title="bench",
                         thresholds=Thresholds(settings.accept_threshold, settings.review_threshold))
    return time.perf_counter() - started, time.process_time() - cpu, plan.count("matched")


# -- quality on labelled cases --------------------------------------------------------------------------


def labelled_cases() -> tuple[list[RemoteTrack], list[tuple[str, TrackInfo, str | None]]]:
    """The Plex library of the cases and the cases: ``(family, Spotify track, right item id or None)``."""
    library: list[RemoteTrack] = []
    cases: list[tuple[str, TrackInfo, str | None]] = []
    rng = random.Random(11)

    def plex(title, artist, album, ms, album_artist=None) -> str:
        item = RemoteTrack(f"rk{len(library) + 1}", title, (artist,), album, album_artist or artist, ms)
        library.append(item)
        return item.item_id

    def spotify(title, artists, album, ms, isrc=None) -> TrackInfo:
        return TrackInfo(f"case{len(cases)}", title, tuple(artists), album, duration_ms=ms, isrc=isrc)

    names = [f"{a.title()} {b.title()}" for a in FIRST for b in LAST]
    rng.shuffle(names)
    titles = [f"{a} {b}".title() for a, b in itertools.combinations(WORDS, 2)]
    rng.shuffle(titles)
    pairs = iter(zip(titles, names))
    for n in range(20):                                     # featuring credits, three ways
        title, artist = next(pairs)
        guest = names[-1 - n]
        ms = 180_000 + n * 1000
        form = n % 3
        right = plex(f"{title} (feat. {guest})" if form == 0 else title,
                     f"{artist} feat. {guest}" if form == 1 else artist, "Singles", ms + 800)
        cases.append(("featuring", spotify(f"{title} (feat. {guest})", [artist, guest], "Singles", ms), right))
    for n in range(20):                                     # remaster and edition tags on either side
        title, artist = next(pairs)
        ms = 200_000 + n * 1000
        tag = ("- Remastered 2011", "(2009 Remaster)", "- 2015 Remaster", "(Deluxe Edition)")[n % 4]
        if n % 2:
            right = plex(title, artist, "Greatest", ms)
            track = spotify(f"{title} {tag}", [artist], "Greatest (Remastered)", ms + 600)
        else:
            right = plex(f"{title} {tag}", artist, "Greatest (Remastered)", ms)
            track = spotify(title, [artist], "Greatest", ms - 400)
        cases.append(("remaster", track, right))
    for n in range(16):                                     # "The", and "Band, The"
        title, artist = next(pairs)
        band = artist.split()[1] + "s"
        ms = 190_000 + n * 1000
        plex_artist = (band, f"{band}, The", f"The {band}", band)[n % 4]
        right = plex(title, plex_artist, "Album", ms)
        cases.append(("the", spotify(title, [f"The {band}" if n % 4 != 2 else band], "Album", ms + 300), right))
    accents = [("Café Noir", "Beyoncé Lind"), ("Año Nuevo", "Sigur Rós Vance"), ("Über Alles", "Björk Holm"),
               ("Déjà Vu", "Zoë Reyes"), ("Señorita Luz", "Ñico Santos"), ("Naïve Heart", "Chloé Moreau"),
               ("Crème Brûlée", "Léa Okafor"), ("Fiancée", "René Brandt"), ("São Paulo Rain", "João Kerr"),
               ("Smörgåsbord", "Åsa Blom"), ("Gödel Song", "Jürgen Ivers"), ("Piñata Night", "Iñaki Ortega")]
    for n, (title, artist) in enumerate(accents):           # diacritics dropped on either side
        ms = 210_000 + n * 1000
        if n % 2:
            right = plex(plain(title), plain(artist), "Album", ms)
            cases.append(("diacritics", spotify(title, [artist], "Album", ms), right))
        else:
            right = plex(title, artist, "Album", ms)
            cases.append(("diacritics", spotify(plain(title), [plain(artist)], "Album", ms), right))
    for n in range(16):                                     # compilations: Various Artists is the album artist
        title, artist = next(pairs)
        ms = 220_000 + n * 1000
        right = plex(title, artist, f"Summer Hits {2000 + n}", ms + 500, album_artist="Various Artists")
        plex(title, artist, "Original Album", ms + 30_000) if n % 4 == 0 else None   # another edit, 30 s longer
        cases.append(("compilation", spotify(title, [artist], "Original Album", ms), right))
    for n in range(24):                                     # not in the library: decoys only
        title, artist = next(pairs)
        ms = 200_000 + n * 1000
        decoy = n % 4
        if decoy == 0:
            plex(f"{title} (Live)", artist, "Live in Lisbon", ms + 20_000)
        elif decoy == 1:
            plex(title, names[n], "Covers Vol. 2", ms + 5_000)
        elif decoy == 2:
            plex(f"{title} Part II", artist, "Album", ms)
        else:
            plex(f"{title} (Karaoke Version)", "Sing Along Crew", "Karaoke Hits", ms)
        cases.append(("absent", spotify(title, [artist], "Album", ms), None))
    for n in range(6):                                      # plain matches with duplicates on other albums
        title, artist = next(pairs)
        ms = 230_000 + n * 1000
        right = plex(title, artist, "The Album", ms)
        plex(title, artist, "Best Of", ms + 1000)
        cases.append(("same song, two albums", spotify(title, [artist], "The Album", ms), right))
    spellings = [("Rock & Roll Night", "Rock and Roll Night", "Mara Holm", "Mara Holm"),
                 ("Don't Stop Now", "Dont Stop Now", "Teo Vance", "Teo Vance"),
                 ("Mr. Blue Harbor", "Mr Blue Harbor", "Iris Kerr", "Iris Kerr"),
                 ("Part 2: The Return", "Part II: The Return", "Ezra Blom", "Ezra Blom"),
                 ("Goodbye Yellow Road", "Good Bye Yellow Road", "Nora Quinn", "Nora Quinn"),
                 ("Hallelujah Morning", "Halleluja Morning", "Felix Mori", "Felix Mori"),
                 ("Sunday Drive", "Sunday Drive", "Guns N' Lanterns", "Guns N Lanterns"),
                 ("Heart Of Glass Tower", "Heart of Glass Tower", "AC/DC Orchard", "ACDC Orchard"),
                 ("Ocean Letter", "Ocean Letter", "Kai & The Embers", "Kai and the Embers"),
                 ("Night Moves (Radio Edit)", "Night Moves", "Hugo Lind", "Hugo Lind"),
                 ("99 Red Lanterns", "Ninety-Nine Red Lanterns", "Alba Reyes", "Alba Reyes"),
                 ("Voodoo Child", "Voodoo Chile", "Leon Haddad", "Leon Haddad")]
    for n, (title, plex_title, artist, plex_artist) in enumerate(spellings):   # other spellings
        ms = 240_000 + n * 1000
        right = plex(plex_title, plex_artist, "Album", ms + 700)
        cases.append(("other spellings", spotify(title, [artist], "Album", ms), right))
    for n in range(8):                                      # another edit of the song: 12-25 s longer
        title, artist = next(pairs)
        ms = 200_000 + n * 1000
        right = plex(title, artist, "Album", ms + 12_000 + 2_000 * n)
        cases.append(("longer edit", spotify(title, [artist], "Album", ms), right))
    for n in range(2000):                                   # filler
        words = rng.sample(WORDS, rng.choice((1, 2, 3)))
        plex(" ".join(words).title(), rng.choice(names), f"Filler {n // 10}", 120_000 + rng.randrange(200_000))
    return library, cases


def plain(text: str) -> str:
    """``text`` without its accents, as a library tagged by hand may spell it."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def guide_match(track: TrackInfo, library: list[RemoteTrack]) -> str | None:
    """The guide: Plex's title search, then 50/30/20 of title, (album) artist and album ratios, ≥ 85."""
    query = track.title.casefold()
    best, best_score = None, 0.0
    for item in library:
        if query not in item.title.casefold():
            continue
        blend = (0.5 * fuzz.ratio(track.title.casefold(), item.title.casefold())
                 + 0.3 * fuzz.ratio(track.artists[0].casefold(), item.album_artist.casefold())
                 + 0.2 * fuzz.ratio(track.album.casefold(), item.album.casefold()))
        if blend > best_score:
            best, best_score = item.item_id, blend
    return best if best_score >= 85 else None


def quality(settings_thresholds: Thresholds) -> list[str]:
    library, cases = labelled_cases()
    service = IndexOnly(CandidateIndex.of(library))
    plan = plan_playlist(service, TrackList("playlist", "cases", "cases", tuple(t for _, t, _ in cases)), NoMemory(),
                         title="cases", thresholds=settings_thresholds)
    ours = Counter()
    guide = Counter()
    per_family: dict[str, Counter] = {}
    for entry, (family, track, right) in zip(plan.entries, cases):
        fam = per_family.setdefault(family, Counter())
        fam["cases"] += 1
        taken = entry.item.item_id if entry.status == "matched" else None
        held = entry.item.item_id if entry.status == "review" else None
        theirs = guide_match(track, library)
        for counter, choice in ((ours, taken), (guide, theirs)):
            counter["positives"] += right is not None
            counter["made"] += choice is not None
            counter["right"] += choice is not None and choice == right
        ours["review"] += held is not None
        ours["review right"] += held is not None and held == right
        fam["ours"] += taken == right
        fam["guide"] += theirs == right
    lines = [f"labelled cases: {len(cases)} ({ours['positives']} in the library, "
             f"{len(cases) - ours['positives']} absent next to decoys), Plex library of {len(library)} tracks"]
    for name, c in (("tunecrate (auto-accepted)", ours), ("guide 50/30/20 >= 85", guide)):
        precision = c["right"] / c["made"] if c["made"] else 1.0
        recall = c["right"] / c["positives"]
        lines.append(f"  {name:26} precision {precision:.3f} ({c['right']}/{c['made']})   "
                     f"recall {recall:.3f} ({c['right']}/{c['positives']})")
    lines.append(f"  tunecrate review band: {ours['review']} held for the user, {ours['review right']} of them "
                 f"the right track (recall with them {(ours['right'] + ours['review right']) / ours['positives']:.3f})")
    lines.append("  right answers by family (tunecrate / guide):")
    for family, c in per_family.items():
        lines.append(f"    {family:22} {c['ours']:3}/{c['cases']:<3}  {c['guide']:3}/{c['cases']}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()

    figures = measure_requests(args)
    first, second = figures["first"], figures["second"]
    changed = figures["changed"]
    print(f"Plex library {args.library:,} tracks, playlist {args.entries} entries, page {args.page}")
    print(f"first push:  {first['page']} listing pages + {first['read']} other reads + {first['write']} writes "
          f"= {sum(first.values())} requests in {figures['first_s']:.1f} s "
          f"(target: {figures['pages']} + <= 6 + writes); matched {figures['first_report'].matched}")
    r2 = figures["second_report"]
    print(f"second push after {changed} entries changed: {second['page'] + second['read']} reads "
          f"({second['page']} of them the changes listing) + {second['write']} writes (added {r2.added}, "
          f"removed {r2.removed}, moved {r2.moved}: {figures['in_place']} writes in place; target: <= 8 reads, "
          f"<= {changed} writes); the Plex playlist in the new order: {'yes' if figures['in_order'] else 'NO'}")
    print(f"guide (one search per entry): first push {args.entries} searches + 3 reads + writes = "
          f"{args.entries + 3}+ requests; second push the same {args.entries + 3}+ again")
    print(f"matching {args.entries} entries against the cached index (load + prefilter + score): "
          f"{figures['matching_cpu_s']:.2f} s CPU, {figures['matching_s']:.2f} s wall (target < 2 s), "
          f"{figures['matched']} matched")
    for line in quality(Thresholds()):
        print(line)
    ok = (first["page"] == figures["pages"] and first["read"] <= 6 and second["read"] + second["page"] <= 8
          and second["write"] <= changed and figures["in_order"] and figures["matching_cpu_s"] < 2.0)
    print("PASS" if ok else "FAIL: a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
