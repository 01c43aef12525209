"""Retraining on reviewed labels: pick stores and a base model, train in a separate process, compare, activate.

Training never runs in the GUI process: ``danet-train retrain`` runs under
QProcess and writes JSON lines to a log file, which a timer reads to drive the
progress bar, the loss / validation-AP plot and the log view. The new model is
written to a scratch folder under the registry root; only "Activate new model"
brings it into the registry, so Cancel or "Keep current" leave the registry and
the active model exactly as they were.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QProcess, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from danet_viewer.core.dataset import ReviewedCount, count_reviewed
from danet_viewer.core.store import AnnotationStore
from danet_viewer.errors import DanetError
from danet_viewer.model.registry import MIN_REVIEWED_APCS, MIN_REVIEWED_BEATS, ModelRegistry
from danet_viewer.model.training_log import Compare, Data, Epoch, Saved, StageDone, Start, TrainingEvent

STORE_FILTER = "Annotation stores (*.h5);;All files (*)"
DEFAULT_BUDGET_S = 120
LOG_POLL_MS = 250
KILL_AFTER_MS = 3000  # a terminated trainer that has not exited by then is killed
LOG_NAME = "retrain.jsonl"
SCRATCH_FOLDER = "retraining"  # under the registry root, so the new model is on the same disk as the registry


def training_command(arguments: list[str]) -> list[str]:
    """The command line that runs ``danet-train`` with ``arguments`` in a separate process.

    From source, the interpreter with ``-m training``. The standalone
    executable has no Python beside it: there ``sys.executable`` is the
    executable itself, whose ``train`` sub-command is ``danet-train``
    (``danet_viewer_frozen.py``).
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, "train", *arguments]
    return [sys.executable, "-m", "training", *arguments]


class RetrainDialog(QDialog):
    """Model ▸ Retrain on reviewed labels. Emits ``newModelChosen`` with the trained model's folder when the
    user chooses to activate it; the caller takes it into the registry, then calls ``new_model_taken``."""

    newModelChosen = Signal(object)  # Path

    def __init__(self, registry: ModelRegistry, stores: list[Path], parent: QWidget | None = None,
                 training_options: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain on reviewed labels")
        self.resize(760, 640)
        self.registry = registry
        # Further `danet-train retrain` options (epochs, batch size...) appended to the command line.
        self.training_options = list(training_options or [])
        self.counts: dict[Path, ReviewedCount] = {}
        self.process: QProcess | None = None
        self.out_dir: Path | None = None
        self.log_offset = 0
        self.log_tail = b""
        self.events: list[TrainingEvent] = []
        self.stderr_lines: list[str] = []
        self.planned_epochs = 0
        self.cancelling = False
        self.close_when_stopped = False
        self.result_state = "setup"  # setup, running, finished, failed, cancelled

        self.store_table = QTableWidget(0, 3)
        self.store_table.setHorizontalHeaderLabels(["store", "reviewed beats", "reviewed APCs"])
        self.store_table.horizontalHeader().setStretchLastSection(False)
        self.store_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.store_table.verticalHeader().hide()
        self.store_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.store_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.add_store_button = QPushButton("Add store…")
        self.add_store_button.clicked.connect(self._choose_store)
        self.remove_store_button = QPushButton("Remove")
        self.remove_store_button.clicked.connect(self._remove_selected_store)
        self.base_box = QComboBox()
        for model in registry.models():
            self.base_box.addItem(f"{model.model_id}" + ("  (active)" if model.active else ""), str(model.folder))
            if model.active:
                self.base_box.setCurrentIndex(self.base_box.count() - 1)
        self.budget = QSpinBox()
        self.budget.setRange(10, 24 * 3600)
        self.budget.setValue(DEFAULT_BUDGET_S)
        self.budget.setSuffix(" s")
        self.readiness = QLabel()
        self.readiness.setWordWrap(True)

        self.progress = QProgressBar()
        self.progress.setFormat("epoch %v of %m")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "epoch")
        self.plot.addLegend()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen("#c0392b", width=2), symbol="o", symbolSize=5,
                                         name="training loss")
        self.val_ap_curve = self.plot.plot([], [], pen=pg.mkPen("#2471a3", width=2), symbol="s", symbolSize=5,
                                           name="validation AP")
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.comparison = QLabel()
        self.comparison.setWordWrap(True)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.activate_button = QPushButton("Activate new model")
        self.activate_button.clicked.connect(self.activate_new_model)
        self.keep_button = QPushButton("Keep current")
        self.keep_button.setToolTip("discard the new model; the active model stays")
        self.keep_button.clicked.connect(self.keep_current)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)

        store_buttons = QHBoxLayout()
        store_buttons.addWidget(self.add_store_button)
        store_buttons.addWidget(self.remove_store_button)
        store_buttons.addStretch()
        form = QFormLayout()
        form.addRow("Base model", self.base_box)
        form.addRow("Time budget", self.budget)
        buttons = QHBoxLayout()
        buttons.addStretch()
        for button in (self.start_button, self.cancel_button, self.activate_button, self.keep_button,
                       self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Stores whose reviewed beats to train on"))
        layout.addWidget(self.store_table, 1)
        layout.addLayout(store_buttons)
        layout.addLayout(form)
        layout.addWidget(self.readiness)
        layout.addWidget(self.progress)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.log_view, 1)
        layout.addWidget(self.comparison)
        layout.addLayout(buttons)

        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(LOG_POLL_MS)
        self.poll_timer.timeout.connect(self._read_log)
        self.kill_timer = QTimer(self)
        self.kill_timer.setSingleShot(True)
        self.kill_timer.setInterval(KILL_AFTER_MS)
        self.kill_timer.timeout.connect(self._kill)
        for path in stores:
            self.add_store(Path(path))
        self._show_state()

    # --- choosing what to train on -------------------------------------------------------------

    def _choose_store(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add annotation stores", "", STORE_FILTER)
        for path in paths:
            self.add_store(Path(path))

    def add_store(self, path: Path) -> None:
        path = path.resolve()
        if path in self.counts:
            return
        try:
            with AnnotationStore.open(path, "r") as store:
                count = count_reviewed(store)
        except DanetError as error:
            QMessageBox.warning(self, "Cannot read the store", str(error))
            return
        self.counts[path] = count
        row = self.store_table.rowCount()
        self.store_table.insertRow(row)
        for column, text in enumerate((str(path), str(count.beats), str(count.apcs))):
            self.store_table.setItem(row, column, QTableWidgetItem(text))
        self._show_state()

    def _remove_selected_store(self) -> None:
        rows = sorted({index.row() for index in self.store_table.selectedIndexes()}, reverse=True)
        for row in rows:
            del self.counts[Path(self.store_table.item(row, 0).text())]
            self.store_table.removeRow(row)
        self._show_state()

    def shortfall(self) -> str:
        """Why training cannot start yet ("" when it can): the trainer's own minimum of reviewed beats."""
        beats = sum(c.beats for c in self.counts.values())
        apcs = sum(c.apcs for c in self.counts.values())
        if not self.counts:
            return "Add at least one annotation store."
        if beats < MIN_REVIEWED_BEATS or apcs < MIN_REVIEWED_APCS:
            return (f"Too few reviewed beats to retrain: {beats} beats with {apcs} APCs "
                    f"(need {MIN_REVIEWED_BEATS} beats and {MIN_REVIEWED_APCS} APCs). Review more beats first.")
        return ""

    # --- running the trainer -------------------------------------------------------------------

    def training_arguments(self) -> list[str]:
        arguments = ["retrain"]
        for path in self.counts:
            arguments += ["--store", str(path)]
        arguments += ["--base", self.base_box.currentData(), "--out", str(self.out_dir),
                      "--max-seconds", str(self.budget.value()), "--log", str(self.out_dir / LOG_NAME)]
        return arguments + self.training_options

    def start(self) -> None:
        if self.shortfall() or self.process is not None:
            return
        scratch = self.registry.root / SCRATCH_FOLDER
        scratch.mkdir(parents=True, exist_ok=True)
        self.out_dir = Path(tempfile.mkdtemp(prefix="retrain-", dir=scratch))
        self.log_offset, self.log_tail, self.events, self.stderr_lines = 0, b"", [], []
        self.planned_epochs = 0
        self.cancelling = False
        self.loss_curve.setData([], [])
        self.val_ap_curve.setData([], [])
        self.log_view.clear()
        self.comparison.clear()
        command = training_command(self.training_arguments())
        self.log_view.appendPlainText("$ " + " ".join(command))
        self.process = QProcess(self)
        self.process.setStandardOutputFile(QProcess.nullDevice())  # its one summary line is in the log already
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._process_finished)
        self.process.errorOccurred.connect(self._process_error)
        self.result_state = "running"
        self.process.start(command[0], command[1:])
        self.poll_timer.start()
        self._show_state()

    @property
    def running(self) -> bool:
        return self.process is not None

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        # The trainer repeats its events on stderr; only what is not an event (an error line) is kept.
        self.stderr_lines += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("[")]

    def _read_log(self) -> None:
        """Read the complete JSON lines the trainer appended since the last look."""
        path = self.out_dir / LOG_NAME
        try:
            with open(path, "rb") as handle:
                handle.seek(self.log_offset)
                chunk = handle.read()
        except FileNotFoundError:
            return  # the trainer has not opened its log yet
        self.log_offset += len(chunk)
        *lines, self.log_tail = (self.log_tail + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                try:
                    self._take_event(TrainingEvent.from_json(line))
                except ValueError:
                    self.log_view.appendPlainText(line.decode(errors="replace"))

    def _take_event(self, event: TrainingEvent) -> None:
        self.events.append(event)
        if isinstance(event, Data):
            self.log_view.appendPlainText(
                f"data: {event.train_beats} training and {event.val_beats} held-out beats from "
                f"{len(event.sources)} source(s); validation {', '.join(map(str, event.validation))}"
            )
        elif isinstance(event, Start):
            # Retraining fine-tunes in one stage of stage2_epochs epochs (training.engine.fit).
            self.planned_epochs = event.stage2_epochs
            self.progress.setRange(0, max(1, self.planned_epochs))
            self.progress.setValue(0)
            self.log_view.appendPlainText(f"start: {event.train_apcs} APCs among {event.train_beats} "
                                          f"training beats, up to {self.planned_epochs} epochs")
        elif isinstance(event, Epoch):
            epochs = [e for e in self.events if isinstance(e, Epoch)]
            x = np.arange(1, len(epochs) + 1)
            self.loss_curve.setData(x, [e.loss for e in epochs])
            self.val_ap_curve.setData(x, [e.val_ap for e in epochs])
            self.progress.setValue(min(len(epochs), self.progress.maximum()))
            self.log_view.appendPlainText(f"epoch {event.epoch}: loss {event.loss:.4f}, "
                                          f"validation AP {event.val_ap:.3f}")
        elif isinstance(event, StageDone):
            self.progress.setValue(self.progress.maximum())  # early stopping or the budget ends it before plan
            self.log_view.appendPlainText(f"training done: best validation AP {event.val_ap:.3f}")
        elif isinstance(event, Saved):
            self.log_view.appendPlainText(f"saved {event.model_id} (threshold {event.threshold:.3f})")
        elif isinstance(event, Compare):
            self.log_view.appendPlainText(f"held-out F1 {event.before_f1:.3f} -> {event.after_f1:.3f}")

    def comparison_event(self) -> Compare | None:
        return next((e for e in reversed(self.events) if isinstance(e, Compare)), None)

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.stderr_lines.append(f"cannot start the trainer: {self.process.errorString()}")
            self._process_finished(-1, QProcess.ExitStatus.CrashExit)

    def _process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if self.process is None:
            return  # FailedToStart already handled
        self._read_stderr()
        self._read_log()
        self.poll_timer.stop()
        self.kill_timer.stop()
        self.process.deleteLater()
        self.process = None
        if self.cancelling:
            self._discard_output()
            self.result_state = "cancelled"
            self.log_view.appendPlainText("cancelled; the active model is unchanged")
            if self.close_when_stopped:
                super().reject()
        elif exit_status == QProcess.ExitStatus.NormalExit and exit_code == 0 and self.comparison_event():
            self.result_state = "finished"
            self._show_comparison(self.comparison_event())
        else:
            self._discard_output()
            self.result_state = "failed"
            message = self.stderr_lines[-1] if self.stderr_lines else f"the trainer stopped (exit code {exit_code})"
            self.log_view.appendPlainText(f"failed: {message}")
            self.comparison.setText(f"<b>Retraining failed:</b> {message}")
        self._show_state()

    def _show_comparison(self, event: Compare) -> None:
        rows = "".join(f"<tr><td>{name}</td><td>{100 * before:.1f}</td><td>{100 * after:.1f}</td></tr>"
                       for name, before, after in (("Se (%)", event.before_se, event.after_se),
                                                   ("+P (%)", event.before_ppv, event.after_ppv),
                                                   ("F1 (×100)", event.before_f1, event.after_f1)))
        verdict = event.verdict
        self.comparison.setText(
            f"<b>On the {event.held_out_apcs} held-out reviewed APCs</b><table cellpadding='3'>"
            f"<tr><th></th><th>current model</th><th>new model</th></tr>{rows}</table>"
            f"<p><b>Verdict:</b> {verdict}</p>"
        )
        # The recommendation is the default button; the reviewer may still choose the other.
        recommended = self.activate_button if verdict == "better" else self.keep_button
        recommended.setDefault(True)
        recommended.setFocus()

    # --- cancelling, activating, discarding ----------------------------------------------------

    def cancel(self) -> None:
        """Stop the trainer (terminate, then kill if it lingers); its output folder goes once it has exited."""
        if self.process is None:
            return
        self.cancelling = True
        self.cancel_button.setEnabled(False)
        self.log_view.appendPlainText("cancelling…")
        self.process.terminate()
        self.kill_timer.start()

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def _discard_output(self) -> None:
        if self.out_dir is not None:
            shutil.rmtree(self.out_dir, ignore_errors=True)
            self.out_dir = None

    def activate_new_model(self) -> None:
        self.newModelChosen.emit(self.out_dir)

    def new_model_taken(self) -> None:
        """The registry holds its own copy of the new model now: the scratch one goes, and so does the dialog."""
        self._discard_output()
        self.accept()

    def keep_current(self) -> None:
        self._discard_output()
        self.accept()

    def reject(self) -> None:
        """Closing while training cancels first and closes once the trainer has exited; never blocks."""
        if self.process is not None:
            self.close_when_stopped = True
            self.cancel()
            return
        self._discard_output()
        super().reject()

    def closeEvent(self, event) -> None:
        if self.process is not None:
            event.ignore()
            self.reject()
            return
        self._discard_output()
        super().closeEvent(event)

    def _show_state(self) -> None:
        setup = self.result_state in ("setup", "failed", "cancelled")
        shortfall = self.shortfall()
        self.readiness.setText(shortfall or f"{sum(c.beats for c in self.counts.values())} reviewed beats "
                               f"with {sum(c.apcs for c in self.counts.values())} APCs ready for training.")
        self.start_button.setEnabled(setup and not shortfall)
        for widget in (self.add_store_button, self.remove_store_button, self.base_box, self.budget):
            widget.setEnabled(setup)
        self.cancel_button.setVisible(self.result_state == "running")
        self.cancel_button.setEnabled(self.result_state == "running" and not self.cancelling)
        self.activate_button.setVisible(self.result_state == "finished")
        self.keep_button.setVisible(self.result_state == "finished")
        self.close_button.setVisible(self.result_state != "finished")
