"""The enhanced trace, computed block by block for what the reviewer looks at, on a worker thread, and fed
to the review view; and other leads of the record, read on one too.

Scoring every beat again with attention costs about as much as the analysis
itself, and a 24 h trace would hold ~260 MB; so only the blocks around the
visible range are computed, and a bounded number of them is kept.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from danet_viewer._qt.review_view import MAX_ENHANCED_SPAN_S, ReviewView
from danet_viewer.components.trace_envelope import MinMaxPyramid
from danet_viewer.core.recording import Recording
from danet_viewer.model.inference import BeatModel
from danet_viewer.model.trace import EnhancedTrace, enhanced_trace

TRACE_BLOCK_S = 60.0
MAX_CACHED_BLOCKS = 240  # 4 h of trace, ~45 MB


class TraceLoader(QObject):
    """Computes ``TRACE_BLOCK_S`` blocks of the enhanced trace on demand; ``blockReady`` when one lands."""

    blockReady = Signal(int)
    _computed = Signal(int, object)  # from the pool thread, delivered queued on the GUI thread

    def __init__(self, recording: Recording, lead: int, beats: np.ndarray, model: BeatModel) -> None:
        super().__init__()
        self.recording, self.lead, self.beats, self.model = recording, lead, beats, model
        self.blocks: OrderedDict[int, EnhancedTrace] = OrderedDict()
        self._pending: set[int] = set()
        self._closed = False
        # One thread: blocks come in the order asked for, and the recording is read by one thread at a time.
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._computed.connect(self._store)

    def request(self, start_s: float, stop_s: float) -> None:
        """Queue the blocks covering ``start_s ... stop_s`` that are neither cached nor queued."""
        first = max(0, math.floor(start_s / TRACE_BLOCK_S))
        last = min(math.ceil(self.recording.duration_s / TRACE_BLOCK_S), math.ceil(stop_s / TRACE_BLOCK_S))
        for index in range(first, last):
            if index in self.blocks:
                self.blocks.move_to_end(index)
            elif index not in self._pending:
                self._pending.add(index)
                self.pool.start(lambda index=index: self._compute(index))

    def _compute(self, index: int) -> None:
        if self._closed:
            return
        trace = enhanced_trace(self.recording, self.lead, self.beats, self.model.network,
                               start_s=index * TRACE_BLOCK_S, stop_s=(index + 1) * TRACE_BLOCK_S,
                               device=self.model.device)
        self._computed.emit(index, trace)

    def _store(self, index: int, trace: EnhancedTrace) -> None:
        self._pending.discard(index)
        if self._closed:
            return
        self.blocks[index] = trace
        while len(self.blocks) > MAX_CACHED_BLOCKS:
            self.blocks.popitem(last=False)
        self.blockReady.emit(index)

    def pieces(self) -> list[EnhancedTrace]:
        return [self.blocks[index] for index in sorted(self.blocks)]

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def close(self) -> None:
        """Drop queued blocks and wait for the one being computed (a fraction of a second)."""
        self._closed = True
        self.pool.clear()
        self.pool.waitForDone()


class TraceFeed:
    """The review view's enhanced trace: one TraceLoader for the beats the model sees, asked for what is shown."""

    def __init__(self, view: ReviewView) -> None:
        self.view = view
        self.loader: TraceLoader | None = None

    def follow(self, recording: Recording, lead: int, beats: np.ndarray, model: BeatModel) -> None:
        """A new loader when the beats the model sees change (an added or deleted beat, or none yet)."""
        if self.loader is not None and np.array_equal(self.loader.beats, beats):
            return
        self.drop()
        self.loader = TraceLoader(recording, lead, beats, model)
        self.loader.blockReady.connect(self._block_ready)
        self.view.set_traces([], attention_module=model.network.wem is not None)

    def request(self, start_s: float, stop_s: float) -> None:
        """The view shows ``start_s ... stop_s``: that and a span either side, where the trace is drawn at all."""
        if self.loader is not None and stop_s - start_s <= MAX_ENHANCED_SPAN_S:
            span = stop_s - start_s
            self.loader.request(start_s - span, stop_s + span)

    def _block_ready(self) -> None:
        self.view.set_traces(self.loader.pieces(), attention_module=self.loader.model.network.wem is not None)

    def drop(self) -> None:
        if self.loader is not None:
            self.loader.close()
            self.loader.deleteLater()
            self.loader = None

    @property
    def ready(self) -> bool:
        """True once the enhanced trace of the visible range is computed."""
        return self.loader is not None and not self.loader.busy and bool(self.loader.blocks)


class LeadReader(QObject):
    """Reads a whole lead and builds its min/max pyramid on a pool thread (each takes a noticeable
    fraction of a second for 24 h); for a lead already read, only the pyramid is built."""

    leadRead = Signal(int, object, object)  # lead index, float32 samples, their MinMaxPyramid; latest request only
    _read = Signal(int, int, object, object)

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording
        self._latest = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._read.connect(self._deliver)

    def request(self, lead: int, samples: np.ndarray | None = None) -> None:
        self._latest += 1
        ticket = self._latest
        self.pool.start(lambda: self._read_lead(ticket, lead, samples))

    def _read_lead(self, ticket: int, lead: int, samples: np.ndarray | None) -> None:
        samples = self.recording.read(lead) if samples is None else samples
        self._read.emit(ticket, lead, samples, MinMaxPyramid(samples))

    def _deliver(self, ticket: int, lead: int, samples: np.ndarray, pyramid: MinMaxPyramid) -> None:
        if ticket == self._latest:  # a reviewer flicking through leads sees only the last one chosen
            self.leadRead.emit(lead, samples, pyramid)

    def close(self) -> None:
        self.pool.clear()
        self.pool.waitForDone()
