"""WFDB beat symbols and the AAMI EC57 classes they map to, in one place."""

from __future__ import annotations

import numpy as np

AAMI_CLASSES = ("N", "S", "V", "F", "Q")

# The standard AAMI mapping of MIT-BIH beat symbols (de Chazal 2004).
SYMBOL_TO_AAMI = {
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "E": "V",
    "F": "F",
    "/": "Q", "f": "Q", "Q": "Q",
}

BEAT_SYMBOLS = frozenset(SYMBOL_TO_AAMI)
SVEB_SYMBOLS = frozenset(s for s, c in SYMBOL_TO_AAMI.items() if c == "S")


def is_beat(symbol: str) -> bool:
    """True for beat annotations; rhythm, noise and other marks are not beats."""
    return symbol in BEAT_SYMBOLS


def aami_class(symbol: str) -> str:
    """The AAMI class of a beat symbol ('N', 'S', 'V', 'F' or 'Q')."""
    try:
        return SYMBOL_TO_AAMI[symbol]
    except KeyError:
        raise ValueError(f"{symbol!r} is not a beat symbol") from None


def is_sveb(symbols: np.ndarray | list[str]) -> np.ndarray:
    """Boolean mask of the SVEB (APC) beats: the positive class of the APC model."""
    return np.isin(np.asarray(symbols, dtype=object), list(SVEB_SYMBOLS))
