"""``python -m reco``: build, recommend, search, errors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from conftest import ROOT, two_taste_dataset, write_release

from reco.cli import TextProgress, main, parse_rating


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "ml-tiny", "ml-100k", two_taste_dataset())


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_build_indexes_once_then_reuses(release: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, text = run("build", "--dataset", str(release), "--data-dir", str(data))
    assert code == 0 and text.startswith("Indexed ml-tiny: 181 ratings, 20 users")
    assert "(20 users)" in text
    code, text = run("build", "--dataset", str(release), "--data-dir", str(data))
    assert code == 0 and text.startswith("Index already up to date:")
    assert len(list((data / "index").glob("[!.]*"))) == 1


def recommend(release: Path, data: Path, *argv: str) -> tuple[int, str]:
    return run("recommend", "--dataset", str(release), "--data-dir", str(data), *argv)


def test_recommend_prints_the_withheld_movie_first(release: Path, tmp_path: Path) -> None:
    code, text = recommend(release, tmp_path, "--rate", "1=5", "--rate", "2=5", "--rate", "3=4.5")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "Your ratings: Alien (1979) (5*), The Matrix (1999) (5*), Dune (2021) (4.5*)"
    assert lines[1].startswith("Recommended from 10 similar users")
    assert lines[2].startswith("  1. Solaris (1972)  [id 4]  ~")
    assert "* for you, score " in lines[2]  # predicted stars before the score
    code, hidden = recommend(
        release, tmp_path, "--rate", "1=5", "--rate", "2=5", "--hide", "4", "--json"
    )
    assert code == 0
    shown = [item["movie_id"] for item in json.loads(hidden)["recommendations"]]
    assert shown and 4 not in shown
    assert all(0.5 <= item["predicted"] <= 5 for item in json.loads(hidden)["recommendations"])


def test_recommend_json_with_age_group(release: Path, tmp_path: Path) -> None:
    code, text = run(
        "recommend",
        "--dataset",
        str(release),
        "--data-dir",
        str(tmp_path),
        "--rate",
        "5=5",
        "--age-group",
        "35-44",
        "--json",
    )
    assert code == 0
    payload = json.loads(text)
    assert payload["filter"] == {"age_group": ["35-44"]}
    assert payload["popular"] is False
    assert payload["recommendations"][0]["movie_id"] in (6, 7, 8)
    assert {n["age_group"] for n in payload["neighbours"]} == {"35-44"}
    assert all(r["movie_id"] != 5 for r in payload["recommendations"])


def test_recommend_without_ratings_lists_popular_movies(release: Path, tmp_path: Path) -> None:
    code, text = run("recommend", "--dataset", str(release), "--data-dir", str(tmp_path))
    assert code == 0 and "Popular movies (not personalised: no ratings given)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "999=5"], "unknown movie id(s) in ml-tiny: 999"),
        (["--rate", "1=9"], "ratings must be from 0.5 to 5.0 stars; got 9.0"),
        (["--rate", "1"], "--rate takes MOVIE_ID=STARS"),
        (["--rate", "1=5", "--age-group", "teen"], "unknown age_group 'teen'"),
    ],
)
def test_recommend_errors_are_messages_not_tracebacks(
    release: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    code, _ = run("recommend", "--dataset", str(release), "--data-dir", str(tmp_path), *argv)
    assert code == 2
    assert f"error: {message}" in capsys.readouterr().err


def test_bad_stars_are_rejected_before_any_indexing(release: Path, tmp_path: Path) -> None:
    code, _ = run(
        "recommend", "--dataset", str(release), "--data-dir", str(tmp_path), "--rate", "1=nan"
    )
    assert code == 2
    assert not (tmp_path / "index").exists()


def test_missing_dataset_is_an_error_message(tmp_path: Path, capsys) -> None:
    code, _ = run("build", "--dataset", str(tmp_path / "nowhere"))
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_search_finds_ids_by_title(release: Path) -> None:
    code, text = run("search", "matrix", "--dataset", str(release))
    assert code == 0 and text.split()[0] == "2" and "The Matrix (1999)" in text
    code, text = run("search", "amelie", "--dataset", str(release), "--json")
    assert json.loads(text)[0]["movie_id"] == 5


def test_parse_rating() -> None:
    assert parse_rating("50=4.5") == (50, 4.5)
    assert parse_rating(" 7 = 3 ") == (7, 3.0)
    with pytest.raises(ValueError):
        parse_rating("fifty=4")


def test_text_progress_draws_a_bar() -> None:
    stream = io.StringIO()
    progress = TextProgress("Indexing", "users", stream=stream)
    progress(943, 943)
    progress.close()
    assert "[##############################] 100.0% 943/943 users\n" in stream.getvalue()


@pytest.fixture
def planted_release(tmp_path: Path) -> Path:
    """The evaluation tests' planted release (`test_evaluate.planted`) as CSV files."""
    from test_evaluate import planted

    return write_release(tmp_path / "ml-planted", "ml-100k", planted())


def evaluate_planted(folder: Path, out: Path, *argv: str) -> tuple[int, str]:
    """``python -m reco evaluate`` on ``folder`` over 2 folds, its reports written to ``out``."""
    return run("evaluate", "--dataset", str(folder), "--folds", "2", "--out", str(out), *argv)


def test_evaluate_prints_a_table_and_writes_the_chart(
    planted_release: Path, tmp_path: Path
) -> None:
    folder = planted_release
    out = tmp_path / "report"
    code, text = evaluate_planted(folder, out)
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("ml-planted: ")
    assert lines[1].startswith("| Method | HR@10 |")
    assert any(line.startswith("| This project (default) |") for line in lines)
    assert any(line.startswith("| This project, own age group only |") for line in lines)
    assert (out / "evaluation.png").exists() and (out / "evaluation.html").exists()
    code, text = evaluate_planted(folder, out, "--json")
    assert code == 0 and json.loads(text)["protocol"]["folds"] == 2


def group(release: Path, data: Path, *argv: str) -> tuple[int, str]:
    return run("group", "--dataset", str(release), "--data-dir", str(data), *argv)


def test_group_lists_films_with_each_members_predicted_stars(release: Path, tmp_path: Path) -> None:
    code, text = group(release, tmp_path, "--member", "1:5,2:5,3:4.5", "--member", "5:5,6:5")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith(
        "Movie night for 2 members (rule average-without-misery), from 10 + 10 similar users"
    )
    assert lines[1].startswith("  1. ") and "member 1 ~" in lines[1] and "member 2 ~" in lines[1]
    shown = " ".join(lines[1:])
    for rated in ("[id 1]", "[id 2]", "[id 3]", "[id 5]", "[id 6]"):
        assert rated not in shown


def test_group_says_who_would_likely_dislike_a_film(release: Path, tmp_path: Path) -> None:
    hater = "5:5,6:5,7:5,1:1,2:1,3:1"  # romance, and hates science fiction
    code, text = group(
        release, tmp_path, "--member", "1:5,2:5,3:4.5", "--member", hater, "--rule", "average"
    )
    assert code == 0
    first = text.splitlines()[1]
    assert first.startswith("  1. Solaris (1972)  [id 4]  member 1 ~3.8*, member 2 ~2.7*")
    assert first.endswith("! member 2 would likely dislike it")


def test_group_reads_links_and_csv_files_and_keeps_the_good_members(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ratings = tmp_path / "romance.csv"
    ratings.write_text("movie_id,rating,hidden\n5,5,\n6,4.5,\n9,,yes\n")
    link = "http://localhost:8501/?r=1:5,2:5,77:3&dataset=ml-tiny"
    other = "http://localhost:8501/?r=1:5&dataset=ml-latest-small"
    code, text = group(
        release, tmp_path, "--member", link, "--member", str(ratings), "--member", other,
        "--rule", "least-misery", "--json",
    )  # fmt: skip
    assert code == 0
    answer = json.loads(text)
    assert answer["rule"] == "least-misery"
    members = answer["members"]
    assert [m["ratings"] for m in members] == [2, 2, 0]
    assert members[0]["problems"] == ["1 unknown movie id in the link was ignored (77)."]
    assert members[1]["hidden"] == 1 and members[2]["neighbours"] == 0
    assert "ml-latest-small, not ml-tiny" in members[2]["problems"][0]
    films = [item["movie_id"] for item in answer["recommendations"]]
    assert films and 9 not in films  # hidden by the CSV's member
    assert set(answer["recommendations"][0]["predicted"]) == {"1", "2"}
    err = capsys.readouterr().err
    assert "member 1: 1 unknown movie id" in err and "member 3 has no usable ratings" in err


def test_group_errors_are_messages(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert group(release, tmp_path, "--member", "1:5")[0] == 2
    assert "give 2 to 6 --member values; got 1" in capsys.readouterr().err
    assert group(release, tmp_path, "--member", "77:5", "--member", "x")[0] == 2
    assert "no member has usable ratings" in capsys.readouterr().err
    assert group(release, tmp_path, "--member", "1:5", "--member", "missing.csv")[0] == 2
    err = capsys.readouterr().err  # a movie night of one person is no movie night
    assert "member 2: Cannot read missing.csv" in err and "needs 2 members" in err


def test_evaluate_groups_prints_and_saves_the_rules_against_baselines(
    planted_release: Path, tmp_path: Path
) -> None:
    folder = planted_release
    out = tmp_path / "report"
    code, text = evaluate_planted(folder, out, "--groups")
    assert code == 0
    lines = text.splitlines()
    assert "groups of 2, 3 and 4 held-out users" in lines[0]
    assert lines[1].startswith("| Method | Members' NDCG@10 | Worst-off member's NDCG@10 |")
    names = [line.split(" | ")[0] for line in lines[3:] if line.startswith("| ")]
    assert names == [
        "| Group rule: average-without-misery (default)",
        "| Group rule: average",
        "| Group rule: least-misery",
        "| Most popular (baseline)",
        "| One random member's recommendations (baseline)",
    ]
    assert (out / "groups.md").read_text().count("| Group rule:") == 3


def test_evaluate_profile_sizes_prints_and_saves_a_table(
    planted_release: Path, tmp_path: Path
) -> None:
    folder = planted_release
    out = tmp_path / "report"
    code, text = evaluate_planted(folder, out, "--profile-sizes", "3,50%")
    assert code == 0
    lines = text.splitlines()
    assert "queries of 3 ratings, 50% of the profile of each held-out user" in lines[0]
    assert lines[1] == "| NDCG@10 | 3 ratings | 50% of the profile |"
    assert any(line.startswith("| This project (default) | ") for line in lines)
    assert (out / "profile_sizes.md").exists() and (out / "profile_sizes.json").exists()
    code, _ = run("evaluate", "--dataset", str(folder), "--profile-sizes", "x", "--out", str(out))
    assert code == 2


def test_evaluate_tune_by_size_prints_and_saves_both_tables(
    planted_release: Path, tmp_path: Path
) -> None:
    folder = planted_release
    out = tmp_path / "report"
    code, text = evaluate_planted(folder, out, "--tune-by-size")
    assert code == 0
    lines = text.splitlines()
    assert "(split seed 0)" in lines[0] and "each fixed similarity exponent" in lines[0]
    assert lines[1].startswith("| exponent, popularity penalty | 5 ratings | 10 ratings |")
    assert len([line for line in lines if line.startswith("| 1, 0.15 |")]) == 1
    fits = lines.index("| regression weight, ridge | 5 ratings | 10 ratings | 20 ratings "
                       "| 50% of the profile | 80% of the profile |")  # fmt: skip
    assert lines[fits + 2].startswith("| 0 (votes alone) |")
    assert len([line for line in lines if line.startswith("| 1, 1 |")]) == 1
    assert lines[-1].endswith("tuning_by_size.md, " + str(out / "tuning_by_size.csv"))
    assert (out / "tuning_by_size.md").exists()
    assert len((out / "tuning_by_size.csv").read_text().splitlines()) > 1


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["build", "--dataset", "/"], "no MovieLens files in /:"),
        (["build", "--dataset", "/proc"], "no MovieLens files in /proc"),
        (["build", "--data-dir", "/dev/null"], "/dev/null is not a folder"),
        (["bench", "--profiles", "0"], "--profiles: must be a whole number from 1"),
        (["bench", "--release-users", "-1"], "--release-users: each user count is from 10"),
        (["evaluate", "--folds", "100000"], "--folds: must be a whole number from 2 to 100"),
        (["recommend", "--limit", "x"], "--limit: must be a whole number from 1 to 1,000"),
        (["bench", "--seed-cap", "nan"], "--seed-cap: must be a number of seconds"),
    ],
)
def test_bad_paths_and_numbers_are_one_line_errors_in_a_subprocess(
    tmp_path: Path, argv: list[str], said: str
) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "reco", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "RECO_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr


def test_a_report_folder_that_cannot_be_written_is_an_error_message(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", "--dataset", str(release), "--folds", "2", "--out", "/proc/x"]
    assert run(*argv, "--data-dir", str(tmp_path))[0] == 2
    assert "error: " in capsys.readouterr().err
