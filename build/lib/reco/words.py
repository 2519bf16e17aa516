"""How the project words a count, in every message it shows."""


def plural(count: int, noun: str) -> str:
    """``plural(1, "rating")`` -> ``"1 rating"``, ``plural(2, "rating")`` -> ``"2 ratings"``."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"
