"""The Qt-free core: readers, signal processing, beats, the annotation store, exports.

Nothing under this package imports Qt (enforced by the import-linter contracts
in pyproject.toml), so the CLI, training and tests use it without a display.
"""
