"""A person's ratings kept in their own browser, so they are there on the next visit without
an account and with nothing personal on the server.

The page's link parameters (every release's ratings and hidden films, the release chosen) are
written to the browser's local storage after each change by a small component of Streamlit's
`st.components.v2` (fixed script, no markup: it only reads and writes one storage entry). On a
visit it first reports what the browser kept, and nothing is written before that answer, so a
new session never overwrites what an earlier one kept. A visit from a link that holds other
ratings than the browser's asks which to keep; *Forget me* clears the browser's copy.
"""

from __future__ import annotations

import json
from collections.abc import Container, Mapping, Sequence
from typing import Any

import streamlit as st

from app import prefs, state
from reco.datasets import DEFAULT_DATASET
from reco.words import plural

MAX_KEPT_CHARS = 2_000_000  # 5,000 ratings of each of five releases take about 200 KB
_SCRIPT = """
export default function ({ data, setStateValue }) {
  if (!data) return;
  const key = "reco-kept-v1";
  let storage = null;
  try { storage = window.localStorage; } catch (error) { storage = null; }
  if (data.read) {
    let text = "";
    try { text = storage ? storage.getItem(key) || "" : ""; } catch (error) { text = ""; }
    setStateValue("kept", { text: text, storage: storage !== null });
  }
  if (storage && typeof data.save === "string") {
    try {
      if (data.save) storage.setItem(key, data.save); else storage.removeItem(key);
    } catch (error) { /* full or refused: the link still holds the ratings */ }
  }
}
"""
_keeper = st.components.v2.component("reco_keeper", js=_SCRIPT)


def kept_state(text: object, offered: Sequence[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The link parameters and the choices (`app.prefs`) a browser kept, as far as they can
    be trusted: known parameter names with string values (parsed like a link's, later) and
    values the page's widgets could hold; ({}, {}) for anything else."""
    if not isinstance(text, str) or not text or len(text) > MAX_KEPT_CHARS:
        return {}, {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    return {
        key: value
        for key, value in params.items()
        if isinstance(key, str)
        and isinstance(value, str)
        and (key == state.RELEASE_PARAM or state.is_link_param(key))
    }, prefs.checked(data.get("prefs"), offered)


def _offered(params: Mapping[str, str], offered: Sequence[str]) -> bool:
    """Whether the release the kept ``r`` and ``h`` belong to is offered here."""
    return params.get(state.RELEASE_PARAM, DEFAULT_DATASET) in offered


def _session() -> dict[str, Any]:
    return st.session_state.setdefault(
        state.KEEPER_STATE, {"answered": False, "off": False, "blocked": False, "other": None}
    )


def keeper_ui(name: str, known: Container[int], offered: Sequence[str]) -> None:
    """Take the browser's answer once, then mount the keeper with what to save. In the main
    column's fragment, which reruns with every change of a rating, a hidden film, the view or
    movie night's people (and with the whole page for the sidebar's choices)."""
    keeping = _session()
    answer = st.session_state.get(state.KEEPER)  # the component's state, before it is drawn
    kept = answer.get("kept") if isinstance(answer, Mapping) else None
    if not keeping["answered"] and isinstance(kept, Mapping):
        keeping["answered"] = True
        keeping["blocked"] = not kept.get("storage", False)
        if _take(*kept_state(kept.get("text"), offered), name, known, offered):
            st.rerun()  # the whole page: the widgets take what was kept, *My ratings* asks
    stopped = keeping["off"] or keeping["blocked"] or keeping["other"] or keeping.get("foreign")
    if keeping["answered"] and not stopped:
        everything = {
            "params": state.link_params(name, limit=None),
            "prefs": prefs.collect(offered),
        }
        save: str | None = json.dumps(everything, separators=(",", ":"))
    else:
        save = "" if keeping.pop("forget", False) else None
    _keeper(
        key=state.KEEPER,
        data={"read": not keeping["answered"], "save": save},
        default={"kept": None},
        on_kept_change=lambda: None,
        height=0,
    )


def _take(
    params: Mapping[str, str],
    chosen: Mapping[str, Any],
    name: str,
    known: Container[int],
    offered: Sequence[str],
) -> bool:
    """The browser's copy: used when the page holds nothing yet, asked about when the page
    came from a link of other ratings. Whether the page must be drawn again (not for a
    first visit: nothing was kept)."""
    if not params and not chosen:
        return False
    if not _offered(params, offered):  # its ids are another release's: used for none here
        _session()["foreign"] = True  # and never written over
        return False
    holds = state.link_params(name, limit=None)
    mine = {k: v for k, v in holds.items() if k != state.RELEASE_PARAM}
    theirs = {k: v for k, v in params.items() if k != state.RELEASE_PARAM}
    if mine and mine == theirs:
        return False
    if mine:
        _session()["other"] = {"params": dict(params), "prefs": dict(chosen)}
        return True
    _use(params, chosen, name, known, offered)
    if params:
        state.flash("Welcome back: your ratings were kept in this browser.", "toast")
    return True


def _use(
    params: Mapping[str, str],
    chosen: Mapping[str, Any],
    name: str,
    known: Container[int],
    offered: Sequence[str],
) -> None:
    state.forget_all(offered)
    state.restore_params(name, known, offered, params, announce=False)
    st.session_state[state.NEXT_PREFS] = dict(chosen)  # set before the widgets are drawn
    release = params.get(state.RELEASE_PARAM)
    if release and release != name:
        st.session_state[state.NEXT_RELEASE] = release  # chosen before the sidebar is drawn


def where_ui(name: str, known: Container[int], offered: Sequence[str]) -> None:
    """Under *My ratings*: where the ratings live, *Forget me*; or which to keep, when the
    browser kept other ratings than the link's."""
    keeping = _session()
    other = keeping["other"]
    if other is not None:
        rated = sum(len(v.split(",")) for k, v in other["params"].items() if k.split(".")[0] == "r")
        st.info(
            f"This browser keeps other ratings of yours ({plural(rated, 'rating')}) than "
            "the link you opened. Which shall this page keep?"
        )
        row = st.container(horizontal=True, gap="small")
        row.button(
            "Mine, kept here",
            key=state.USE_KEPT,
            on_click=_use_kept,
            args=(name, known, offered),
        )
        row.button("The link's", key=state.USE_LINK, on_click=_keep_link)
        return
    if keeping["blocked"]:
        st.caption("This browser does not let the page keep them: its link holds them.")
        return
    if keeping.get("foreign"):
        st.caption(
            "This browser keeps ratings of a release this site does not offer now: they are "
            "left as they are, and the page's link holds these."
        )
        return
    if keeping["off"]:
        st.caption("Not kept in this browser: the page's link holds your ratings.")
        st.button("Keep them in this browser", key=state.KEEP_HERE, on_click=_keep_here)
        return
    st.caption(
        "Kept in this browser (its own storage: no account, nothing on the server) and in "
        "the page's link."
    )
    if keeping["answered"]:  # before the browser has answered, there is nothing to forget
        st.button("Forget me in this browser", key=state.FORGET, on_click=_forget)


def _use_kept(name: str, known: Container[int], offered: Sequence[str]) -> None:
    keeping = _session()
    other, keeping["other"] = keeping["other"] or {}, None
    _use(other.get("params", {}), other.get("prefs", {}), name, known, offered)
    st.rerun()


def _keep_link() -> None:
    _session()["other"] = None  # the link's ratings are written over the browser's
    st.rerun()  # the whole page: the keeper is in the main column


def _forget() -> None:
    keeping = _session()
    keeping["off"], keeping["forget"] = True, True
    st.rerun()


def _keep_here() -> None:
    _session()["off"] = False
    st.rerun()
