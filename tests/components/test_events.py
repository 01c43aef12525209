"""The observer pattern the review model uses instead of Qt signals."""

from __future__ import annotations

from danet_viewer.components.events import EmitterGroup


def test_observers_are_called_in_order_with_the_arguments_until_disconnected():
    events = EmitterGroup("changed", "other")
    calls = []

    def first(*args):
        calls.append(("first", *args))

    events.changed.connect(first)
    events.changed.connect(lambda *args: calls.append(("second", *args)))
    events.changed.emit(1, "a")
    events.other.emit()
    events.changed.disconnect(first)
    events.changed.emit(2)
    assert calls == [("first", 1, "a"), ("second", 1, "a"), ("second", 2)]


def test_an_observer_may_disconnect_itself_while_the_event_is_emitted():
    events = EmitterGroup("changed")
    calls = []

    def once():
        calls.append("once")
        events.changed.disconnect(once)

    events.changed.connect(once)
    events.changed.connect(lambda: calls.append("always"))
    events.changed.emit()
    events.changed.emit()
    assert calls == ["once", "always", "always"]
