"""Entry point of the standalone executable (build.spec): ``train ...`` runs danet-train, anything else danet-viewer.

A frozen build has no Python interpreter beside it, so the retrain dialog
starts training as ``danet-viewer train retrain ...`` (see
``danet_viewer._qt.retrain_dialog.training_command``). The dispatch lives
here, above both packages, so that ``danet_viewer`` itself never imports
``training`` (the import contracts in pyproject.toml).
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

TRAIN = "train"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [TRAIN]:
        from training.cli import main as train_main

        return train_main(argv[1:])
    from danet_viewer.cli import main as viewer_main

    return viewer_main(argv)


if __name__ == "__main__":
    # A frozen program must call this first: a multiprocessing child (e.g. a torch DataLoader worker) re-runs
    # this executable, which would otherwise parse the child's arguments as a command line and open the GUI.
    multiprocessing.freeze_support()
    sys.exit(main())
