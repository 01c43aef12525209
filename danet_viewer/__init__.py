"""DANet Review: an ECG review workstation with the DANet APC model at its side."""

__version__ = "0.1.0"
