"""The page's state, named once: every session key, widget key and URL parameter, the one rule
that scopes state to a release, typed accessors for what a person did, one flash-message
mechanism, and the page link's restore and sync.

A person's ratings, hidden films and movie-night group are per release (movie ids mean other
films in another release): `per_release` names their key, and every widget whose values
differ between releases (the filters, the search's genres and years) is keyed the same way.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Literal

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import explore_link
from app.explore_link import EXPLORE_PARAMS
from app.fetch import Member
from app.group_link import NIGHT_PARAM, parse_night
from reco.datasets import DEFAULT_DATASET, KNOWN_DATASETS, release_named
from reco.explore import ORDERS, FilmFilter, Order
from reco.filters import FilterField
from reco.profile import (
    MAX_LINK_CHARS,
    format_hidden,
    format_profile,
    parse_hidden,
    parse_profile,
)
from reco.words import plural

# --------------------------------------------------------------------------- URL parameters

RATINGS_PARAM, HIDDEN_PARAM, RELEASE_PARAM = "r", "h", "dataset"
FILM_PARAM = "film"  # the film whose page is open, of the release shown
LINK_PARAMS = (RATINGS_PARAM, HIDDEN_PARAM, RELEASE_PARAM)
"""The release shown and its ratings and hidden films; every other release a person rated
films of this session has its own, ``r.<release>`` and ``h.<release>`` (`other_param`), so a
link or a reload brings every release's ratings back, not only the one shown."""


def other_param(kind: str, release: str) -> str:
    """The link parameter of another release's ratings (``r``) or hidden films (``h``)."""
    return f"{kind}.{release}"


def is_link_param(key: str) -> bool:
    kind, _, release = key.partition(".")
    return (
        key in LINK_PARAMS
        or key in EXPLORE_PARAMS
        or key == FILM_PARAM
        or (kind in (RATINGS_PARAM, HIDDEN_PARAM) and release in KNOWN_DATASETS)
    )


# --------------------------------------------------------------------------- session keys

RATINGS = "ratings"  # per release: {movie_id: stars}
HIDDEN = "hidden"  # per release: films marked "not interested"
STARTERS_SEEN = "starters_seen"  # per release: quick-rate films shown so far
STARTING = "starting"  # per release: rating the quick-rate set (it stays until they move on)
MEMBERS = "members"  # per release: the movie night's people
FILM = "film"  # per release: the film whose page is open
FILM_OPENED = "film_opened"  # how many times a film's page was opened
RESTORED = "restored"  # the link was read (once per session)
LINK_SENT = "link_sent"  # the link parameters the page last put in the address
KEEPER_STATE = "keeper"  # what the browser answered and what the person chose of it
NEXT_RELEASE = "next_release"  # a release to choose before the sidebar is drawn
NEXT_PREFS = "next_prefs"  # choices a browser kept, to set before the widgets are drawn
KEPT_OTHERS = "kept_others"  # kept filters and people of releases not opened since
OPENED = "opened"  # the release the page showed last: where it stays when another cannot open
LINK_KEPT = "link_kept"  # a link of a release not offered: the address is left as it came
PENDING = "pending_links"  # other releases' ratings from the link, read when each opens
FLASHES = "flashes"  # messages to show once (`flash`)
SEARCH_LISTED = "search_listed"  # the films the search results show
SLIDER_VERSIONS = "slider_versions"  # a slider's place -> how often it was drawn anew
SLIDERS_SHOW = "sliders_show"  # slider key -> the rating it was drawn at, or last sent
UPLOADED = "uploaded_id"  # the CSV file last restored (its messages stay until another)
UPLOAD_MESSAGES = "upload_messages"
BEFORE_RESTORE = "before_restore"  # per release: what a restore replaced, for its undo
EXPLORE_PENDING = "explore_pending"  # release -> what a link asked to explore, until it opens
EXPLORE_SPAN = "explore_span"  # per release: its films' first and last year

# widgets
RELEASE = "dataset"
VIEW = "view"
LIMIT = "limit"
NEIGHBOURS = "neighbours"
MIN_RATERS = "min_raters"
SEARCH = "search"
GENRES = "genres"  # per release
YEARS = "years"  # per release
EXPLORE_GENRES = "explore-genres"  # per release, like the rest of explore
EXPLORE_YEARS = "explore-years"
EXPLORE_KNOWN = "explore-known"
EXPLORE_ORDER = "explore-order"
EXPLORE_WIDGETS = (EXPLORE_GENRES, EXPLORE_YEARS, EXPLORE_KNOWN, EXPLORE_ORDER)
EXPLORE_CLEAR = "explore-clear"
WHY = "why"
GROUP_RULE = "group-rule"
MEMBER_NAME, MEMBER_LINK, MEMBER_FILE = "member-name", "member-link", "member-file"
UPLOAD = "upload"
DOWNLOAD = "download"
UNDO_RESTORE = "undo-restore"
RETRY = "retry"
STAY = "stay-on-release"
KEEPER = "keeper-component"
USE_KEPT = "use-kept"
USE_LINK = "use-link"
KEEP_HERE = "keep-here"
FORGET = "forget-me"
RETRY_RELEASE = "retry-release"
WIDEN = "widen"
OTHER_FILMS = "other-films"
SEE_RECOMMENDATIONS = "see-recommendations"
BACK_TO_QUICK = "back-to-quick"
ADD_ME = "add-me"
CLOSE_FILM = "close-film"
SEARCH_ANCHOR, MINE_ANCHOR = "find-movies", "my-ratings"  # where the page's jump links go
OPEN_RATED, OPEN_RATED_PAGE = "open-rated", "open-rated-page"
OPEN_RATED_OPEN = "open-rated-open"  # the section with them, drawn when opened
FILM_GROUP = "film-group"
NEIGHBOUR_TAB = "neighbour-tab"

# sections drawn when opened (an expander's open state, kept in the session)
RELEASE_OPEN = "release-open"
NEIGHBOUR_FILTERS_OPEN = "neighbour-filters-open"
ADVANCED_OPEN = "advanced-open"
EXPLORE_OPEN = "explore-open"
SEARCH_FILTERS_OPEN = "search-filters-open"
POPULAR_OPEN = "popular-open"
WHY_OPEN = "why-open"
NEIGHBOURS_OPEN = "neighbours-open"
KEEP_OPEN = "keep-open"
ALL_RATINGS_OPEN = "all-ratings-open"
HIDDEN_OPEN = "hidden-open"
HIDDEN_PAGE = "hidden-page"
FILM_GROUPS_OPEN = "film-groups-open"
LAZY_SECTIONS = (
    WHY_OPEN,
    NEIGHBOURS_OPEN,
    KEEP_OPEN,
    ALL_RATINGS_OPEN,
    HIDDEN_OPEN,
    OPEN_RATED_OPEN,
    FILM_GROUPS_OPEN,
)

VIEWS = ("For me", "Movie night")

# where a film's slider is drawn: its key is "<where>-<movie id>"
Where = Literal["search", "mine", "all", "quick", "rec", "pop", "why", "film", "like"]
RATED_PARTS = ("main", "mine")  # the fragments that show one's ratings and hidden films
SEARCH_PART = "search"


def per_release(key: str, name: str) -> str:
    """The one rule for state that differs between releases: ``<key>-<release>``."""
    return f"{key}-{name}"


def filter_key(field: FilterField, name: str) -> str:
    """A neighbour filter's widget, per release (its values differ between releases)."""
    return per_release(field.keyword, name)


def slider_place(where: Where, movie_id: int) -> str:
    """A film's star slider at a place: ``<where>-<movie id>``."""
    return f"{where}-{movie_id}"


def slider_key(where: Where, movie_id: int) -> str:
    """The key of a film's star slider at a place: its place, then ``--<n>`` once it has been
    drawn anew `n` times (`renew_slider`)."""
    place = slider_place(where, movie_id)
    version = st.session_state.get(SLIDER_VERSIONS, {}).get(place, 0)
    return f"{place}--{version}" if version else place


def renew_slider(where: Where, movie_id: int) -> str:
    """A new identity for a film's slider at a place, so it is drawn afresh at the stored
    rating; returns its key."""
    versions = st.session_state.setdefault(SLIDER_VERSIONS, {})
    place = slider_place(where, movie_id)
    versions[place] = versions.get(place, 0) + 1
    return slider_key(where, movie_id)


def hide_key(where: Where, movie_id: int) -> str:
    return f"hide-{where}-{movie_id}"


def unhide_key(movie_id: int) -> str:
    return f"unhide-{movie_id}"


def slider_shows() -> dict[str, object]:
    """What each star slider shows, as far as the page knows: the rating it was drawn at, or
    the one the person last sent from it (`app.views.cards`)."""
    return st.session_state.setdefault(SLIDERS_SHOW, {})


def remove_member_key(position: int) -> str:
    return f"remove-member-{position}"


# --------------------------------------------------------------------------- what a person did


def ratings(name: str) -> dict[int, float]:
    """This session's ratings of a release, in the order they were given."""
    return st.session_state.setdefault(per_release(RATINGS, name), {})


def hidden(name: str) -> set[int]:
    """Films this session marked "not interested" (never recommended until restored)."""
    return st.session_state.setdefault(per_release(HIDDEN, name), set())


def excluded(name: str) -> set[int]:
    """The films kept out of every list: those the person marked with a card action that
    persists (*Not interested*)."""
    return set(hidden(name))


def quick_starting(name: str) -> bool:
    """Whether the person is rating the quick-rate set: it stays, whatever the count, until
    they move on (*Show my recommendations*, or a rating given elsewhere)."""
    return bool(st.session_state.get(per_release(STARTING, name)))


def keep_starting(name: str, starting: bool) -> None:
    st.session_state[per_release(STARTING, name)] = starting


def starters_seen(name: str) -> list[int]:
    """The quick-rate films shown so far ("Show me other films" leaves them out)."""
    return st.session_state.setdefault(per_release(STARTERS_SEEN, name), [])


def members(name: str) -> list[Member]:
    """The people of this session's movie night."""
    return st.session_state.setdefault(per_release(MEMBERS, name), [])


def explore_chosen(name: str) -> tuple[FilmFilter, Order]:
    """The narrowing and order the person chose for their recommendations (`reco.explore`):
    the explore widgets' values, years only when narrower than the release's span."""
    session = st.session_state
    genres = tuple(session.get(per_release(EXPLORE_GENRES, name)) or ())
    years = session.get(per_release(EXPLORE_YEARS, name))
    span = session.get(per_release(EXPLORE_SPAN, name))
    narrowed = tuple(years) if years and span and tuple(years) != tuple(span) else None
    known = session.get(per_release(EXPLORE_KNOWN, name)) or "any"
    order = session.get(per_release(EXPLORE_ORDER, name)) or ORDERS[0]
    return FilmFilter(genres, narrowed, known), order


def film_open(name: str) -> int | None:
    """The film whose page the main column shows, if any."""
    return st.session_state.get(per_release(FILM, name))


def film_opened() -> int:
    """How many times a film's page was opened in this session (each brings it into view)."""
    return st.session_state.get(FILM_OPENED, 0)


def open_film(name: str, movie_id: int | None, *, elsewhere: bool = False) -> None:
    """Callback: open a film's page (None: close it) in the main column, the address in step
    (one entry in the browser's history: Back closes it). ``elsewhere``: the button is not in
    the main column (the search, *My ratings*), which is then rerun too."""
    if movie_id is None:
        st.session_state.pop(per_release(FILM, name), None)
    else:
        st.session_state[per_release(FILM, name)] = int(movie_id)
        st.session_state[FILM_OPENED] = film_opened() + 1
    sync_link(name)
    if elsewhere:
        st.rerun(["main"])


def clear_explore(name: str) -> None:
    """Every release's explore choices of ``name`` back to the whole list (before drawn)."""
    for key in EXPLORE_WIDGETS:
        st.session_state.pop(per_release(key, name), None)


# --------------------------------------------------------------------------- messages

Kind = Literal["warning", "success", "info", "toast"]
Place = Literal["page", "group"]  # the top of the page, or the movie night's people


def flash(text: str, kind: Kind = "warning", place: Place = "page") -> None:
    """A message to show once, where ``place`` draws its messages (`take_flashes`)."""
    st.session_state.setdefault(per_release(FLASHES, place), []).append((kind, text))


def take_flashes(place: Place = "page") -> list[tuple[Kind, str]]:
    """The messages waiting to be shown at ``place``, once."""
    return st.session_state.pop(per_release(FLASHES, place), [])


# --------------------------------------------------------------------------- the page link


def restore_from_link(
    name: str, known: Container[int], offered: Sequence[str], *, announce: bool = True
) -> None:
    """Once per session: ratings and hidden films from the URL (``?r=50:5,172:4.5&h=7``);
    what was left out is said once (`flash`), never the link's own text."""
    if st.session_state.get(RESTORED):
        return
    st.session_state[RESTORED] = True
    restore_params(name, known, offered, st.query_params, announce=announce)


def restore_params(
    name: str,
    known: Container[int],
    offered: Sequence[str],
    given: Mapping[str, str],
    *,
    announce: bool = True,
) -> None:
    """Ratings and hidden films from link parameters (the address's, or the ones a browser
    kept): release ``name``'s now, the other releases' when each opens (`restore_pending`)."""
    linked = given.get(RELEASE_PARAM)
    if linked and linked not in offered:  # its movie ids mean other films here: none used
        named = release_named(linked, "a release")
        held = RATINGS_PARAM in given or HIDDEN_PARAM in given
        flash(
            f"The link holds {'ratings of ' if held else ''}{named}, which this site does not "
            f"offer; showing {name}"
            + (" without them. Your link stays in the address." if held else ".")
        )
        st.session_state[LINK_KEPT] = True
        return
    linked = linked or DEFAULT_DATASET  # ``r`` and ``h`` are its; ``r.<release>`` the others'
    texts = {
        release: {
            kind: given.get(kind if release == linked else other_param(kind, release), "")
            for kind in (RATINGS_PARAM, HIDDEN_PARAM)
        }
        for release in offered
    }
    st.session_state[PENDING] = {
        release: given
        for release, given in texts.items()
        if release != name and any(given.values())
    }
    own = texts.get(name, {})
    _restore(name, own.get(RATINGS_PARAM), own.get(HIDDEN_PARAM), known, announce=announce)
    film = given.get(FILM_PARAM)
    if linked == name and film:  # a film's page, of a film this release has
        movie_id = int(film) if str(film).isdigit() and len(str(film)) < 10 else None
        if movie_id is not None and movie_id in known:
            st.session_state[per_release(FILM, name)] = movie_id
        else:
            flash("The link names a film this release does not have: its page is not open.")
    explore, problems = explore_link.parse(given)
    if explore:  # applied once the release's catalog is there (`app.views.explore`)
        st.session_state.setdefault(EXPLORE_PENDING, {})[linked] = explore
    for problem in problems:
        flash(problem)
    night = given.get(NIGHT_PARAM)
    if night and linked == name:  # a movie night's own link: its people, in its view
        people, problems = parse_night(night, known)
        if people:
            st.session_state[per_release(MEMBERS, name)] = people
            st.session_state[VIEW] = VIEWS[1]
            flash(f"Movie night with {', '.join(m.name for m in people)}, from the link.", "toast")
        for problem in problems:
            flash(problem)


def forget_all(offered: Sequence[str]) -> None:
    """Every release's ratings, hidden films and explore choices out of the session (before
    others replace them)."""
    for release in offered:
        st.session_state.pop(per_release(RATINGS, release), None)
        st.session_state.pop(per_release(HIDDEN, release), None)
        st.session_state.pop(per_release(FILM, release), None)
        clear_explore(release)
    st.session_state.pop(PENDING, None)
    st.session_state.pop(EXPLORE_PENDING, None)


def restore_pending(name: str, known: Container[int]) -> None:
    """The ratings the link held for release ``name``, once it opens (its movie ids are only
    known then); ratings given since in this session stay as they are."""
    texts = st.session_state.get(PENDING, {}).pop(name, None)
    if texts:
        _restore(name, texts[RATINGS_PARAM], texts[HIDDEN_PARAM], known, of=name)


def _restore(
    name: str,
    rated: str | None,
    hid: str | None,
    known: Container[int],
    of: str = "",
    *,
    announce: bool = True,
) -> None:
    parsed = parse_profile(rated, known)
    hidden_films = parse_hidden(hid, known)
    mine = ratings(name)
    fresh = {m: s for m, s in parsed.ratings.items() if m not in mine}
    mine.update(fresh)
    if fresh and announce:
        where = f" of {of}" if of else ""
        flash(f"Restored {plural(len(fresh), 'rating')}{where} from the link.", "toast")
    hidden(name).update(hidden_films.hidden - mine.keys())
    for problem in (*parsed.problems, *hidden_films.problems):
        flash(problem)


def opened(name: str) -> None:
    """The page shows release ``name`` (where it stays should another fail to open)."""
    st.session_state[OPENED] = name


def last_opened(other_than: str) -> str | None:
    """The release the page showed last, unless it is ``other_than``."""
    last = st.session_state.get(OPENED)
    return last if last != other_than else None


def choose_release(name: str) -> None:
    """Callback: make ``name`` the chosen release (the sidebar's and the address's)."""
    st.session_state[RELEASE] = name


def link_release() -> str | None:
    """The release a link names, if any."""
    return st.query_params.get(RELEASE_PARAM)


def chosen_release(name: str) -> str:
    """The release the person chose (the address names it), which is the page's ``name``
    unless it could not be opened and the page shows the one they had meanwhile."""
    chosen = st.session_state.get(RELEASE)
    return chosen if chosen in KNOWN_DATASETS else name


def link_params(name: str, limit: int | None = MAX_LINK_CHARS) -> dict[str, str]:
    """The page link's query parameters: the release chosen (when not the default) with its
    ratings and hidden films as ``r`` and ``h``, every other release's as ``r.<release>`` and
    ``h.<release>`` (each left out when too long for a link: the page then says to keep them
    as CSV; ``limit`` None: none left out). A release not opened this session carries on
    what the link gave it."""
    linked = chosen_release(name)
    values = {RELEASE_PARAM: linked if linked != DEFAULT_DATASET else ""}
    pending = st.session_state.get(PENDING, {})
    for release in KNOWN_DATASETS:
        kinds = (RATINGS_PARAM, HIDDEN_PARAM)
        if release != linked:
            kinds = (other_param(RATINGS_PARAM, release), other_param(HIDDEN_PARAM, release))
        if release in pending:
            texts = pending[release]
            values.update(zip(kinds, (texts[RATINGS_PARAM], texts[HIDDEN_PARAM]), strict=True))
        else:
            values.update(_release_params(release, *kinds))
    if linked == name:
        values.update(explore_link.params(*explore_chosen(name)))
        film = film_open(name)
        values[FILM_PARAM] = "" if film is None else str(film)
    return {
        key: value
        for key, value in values.items()
        if value and (limit is None or len(value) <= limit)
    }


def _release_params(release: str, rated: str, hid: str) -> dict[str, str]:
    """A release's ratings and hidden films of this session as link parameters."""
    session = st.session_state
    return {
        rated: format_profile(session.get(per_release(RATINGS, release), {})),
        hid: format_hidden(session.get(per_release(HIDDEN, release), set())),
    }


def sync_link(name: str) -> None:
    """Keep the URL's query parameters equal to the ratings, so a copied link restores them
    (a link of a release not offered stays as it came until the person changes something)."""
    if st.session_state.get(LINK_KEPT):
        return
    wanted = link_params(name)
    if _shown_params() != wanted:
        st.query_params.from_dict(wanted)  # one message: one entry in the browser's history
    st.session_state[LINK_SENT] = wanted


def _shown_params() -> dict[str, str]:
    return {k: v for k, v in st.query_params.to_dict().items() if is_link_param(k)}


def follow_history(name: str, known: Container[int], offered: Sequence[str]) -> None:
    """Back (or Forward) in the browser: each change put one address in its history, and
    going back to one brings back the ratings and hidden films it holds, as an undo. Only
    on Streamlit's own word that this run is a history navigation: an address merely older
    than the last one sent (a rerun that crossed it on the way) changes nothing."""
    sent = st.session_state.get(LINK_SENT)
    ctx = get_script_run_ctx()
    navigated = ctx is not None and getattr(ctx, "is_history_navigation", False)
    if not navigated or sent is None or _shown_params() == sent:
        return
    before = len(ratings(name))
    forget_all(offered)
    restore_params(name, known, offered, st.query_params, announce=False)
    after = len(ratings(name))
    flash(f"Back to {plural(after, 'rating')} (from {before}).", "toast")


# --------------------------------------------------------------------------- changes


def rerun_rated_parts(name: str, movie_id: int, shown_by: str = "") -> None:
    """After a callback changed a film's rating or hid it: the page address in step
    (`sync_link`), then rerun only the parts of the page that show the film (every widget
    redrawn costs the browser time): the main column, *My ratings*, and the search results
    when they list the film (unless its own slider there, ``shown_by`` "search", made the
    change). Not the sidebar, header or the rest."""
    st.session_state.pop(LINK_KEPT, None)
    sync_link(name)
    parts = list(RATED_PARTS)
    if movie_id in st.session_state.get(SEARCH_LISTED, ()) and shown_by != SEARCH_PART:
        parts.append(SEARCH_PART)
    st.rerun(parts)
