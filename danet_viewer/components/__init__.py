"""The review window's state without Qt: the review model, its session, viewport and display helpers.

Qt-free (an import-linter contract in pyproject.toml), so the review rules are
unit-tested without a display; ``danet_viewer._qt`` observes these objects and
draws what they hold.
"""
