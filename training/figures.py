"""Attention figures: a few DS2 APCs and normals with the model's w(t) over the trace.

Does the attention sit on the P wave? Each panel shows the conditioned window
(black), w(t) as a heat band beneath it, the enhanced window x·(1 + w) (red),
and the delineated P region (green span).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from danet_viewer.core.conditioning import MODEL_FS, WINDOW_BEFORE
from danet_viewer.model.card import load_model
from danet_viewer.model.inference import score_beats
from training.data import label_record
from training.mitdb import mitdb_dir

EXAMPLES = (("222", 1), ("232", 1), ("100", 1), ("222", 0), ("100", 0), ("219", 0))


def attention_figure(model_folder: Path, out: Path, cache: Path, seed: int = 0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, card = load_model(model_folder)
    rng = np.random.default_rng(seed)
    figure, axes = plt.subplots(len(EXAMPLES), 1, figsize=(9, 2.0 * len(EXAMPLES)), sharex=True)
    time = (np.arange(model.config.window_length) - WINDOW_BEFORE) / MODEL_FS
    for axis, (name, label) in zip(axes, EXAMPLES, strict=True):
        record = label_record(mitdb_dir() / f"{name}.hea", cache)
        row = int(rng.choice(np.flatnonzero(record.beats.label == label)))
        inputs = record.beats.inputs.subset(np.array([row]))
        scores = score_beats(model, inputs, attention=True)
        window, weights, enhanced = inputs.windows[0], scores.weights[0], scores.enhanced[0]
        low = min(window.min(), enhanced.min()) - 0.4
        axis.imshow(weights[None, :], aspect="auto", cmap="Oranges", vmin=0,
                    vmax=max(1e-6, float(model.config.alpha_max)),
                    extent=(time[0], time[-1], low, low + 0.3))
        p_on, p_off = inputs.regions[0, 0]
        axis.axvspan(time[min(p_on, len(time) - 1)], time[min(p_off, len(time) - 1)], color="green", alpha=0.15)
        axis.plot(time, window, "k", lw=0.8, label="conditioned")
        axis.plot(time, enhanced, "r", lw=0.6, alpha=0.8, label="enhanced x(1+w)")
        axis.set_ylim(low, max(window.max(), enhanced.max()) + 0.2)
        kind = "APC (SVEB)" if label else "normal"
        axis.set_title(f"mitdb {name}, {kind}: p(APC) = {scores.p_apc[0]:.2f} (threshold {card.threshold:.2f})",
                       fontsize=8)
    axes[0].legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("time from the beat's R peak (s); band = w(t), green = delineated P wave")
    figure.suptitle(f"{card.name} ({model.config.variant}): attention w(t) on DS2 beats", fontsize=10)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return out
