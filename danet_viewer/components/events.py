"""A small observer pattern without Qt: a model's named events, to which views connect callables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """One kind of change; ``emit`` calls every connected observer in the order they connected."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._observers: list[Callable[..., Any]] = []

    def connect(self, observer: Callable[..., Any]) -> None:
        self._observers.append(observer)

    def disconnect(self, observer: Callable[..., Any]) -> None:
        self._observers.remove(observer)

    def emit(self, *args: Any) -> None:
        for observer in list(self._observers):  # an observer may disconnect itself
            observer(*args)


class EmitterGroup:
    """A model's events by name: ``EmitterGroup("beats", "selection").beats.connect(redraw)``."""

    def __init__(self, *names: str) -> None:
        for name in names:
            setattr(self, name, Event(name))
