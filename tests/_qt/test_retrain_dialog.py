"""The retraining loop through the GUI: a real retraining in a separate process, Cancel, the model manager,
re-analysis with a new model keeping reviewers' labels, and the review list's uncertainty order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from danet_viewer._qt.model_actions import model_manager, retrain_dialog
from danet_viewer._qt.retrain_dialog import RetrainDialog
from danet_viewer.components.model_library import ModelLibrary
from danet_viewer.core.analysis import analyse_recording, import_annotations
from danet_viewer.core.dataset import count_reviewed
from danet_viewer.core.readers import open_recording
from danet_viewer.core.store import AnnotationStore
from danet_viewer.model.card import ModelCard, save_model
from danet_viewer.model.network import DANet, NetworkConfig
from danet_viewer.model.registry import BUNDLED, ModelRegistry
from danet_viewer.model.training_log import Start
from tests._qt.conftest import ANALYSIS_TIMEOUT_MS

TINY_TRAINING = ["--stage2-epochs", "1", "--negatives-per-epoch", "300", "--synthetic-per-epoch", "64",
                 "--batch-size", "64"]
LONG_TRAINING = ["--stage2-epochs", "500", "--patience", "500", "--negatives-per-epoch", "300",
                 "--synthetic-per-epoch", "64", "--batch-size", "64"]
TRAINING_TIMEOUT_MS = 120_000  # the 2-core CI box may be busy


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry of this test's own: the trainer process and the window find it through the environment."""
    monkeypatch.setenv("DANET_REVIEW_DATA", str(tmp_path / "registry"))
    return ModelRegistry()


@pytest.fixture
def reviewed_store(record, model, tmp_path):
    """The sample analysed by the bundled model with its reference annotations imported as reviews."""
    path = tmp_path / "reviewed.danet.h5"
    recording = open_recording(record)
    with AnnotationStore.open(path, "a") as store:
        analyse_recording(recording, store, who="test", model=model)
        import_annotations(recording, store, "atr", as_review=True, who="reference")
    return path


def random_model(folder, seed):
    torch.manual_seed(seed)
    save_model(DANet(NetworkConfig(variant="hard")), ModelCard(name=f"random{seed}", network={}, threshold=0.5),
               folder)
    return folder


def test_retraining_runs_in_a_process_and_activates_the_new_model(qtbot, registry, reviewed_store):
    library = ModelLibrary(registry.root)
    dialog = retrain_dialog(library, [reviewed_store], training_options=TINY_TRAINING)
    qtbot.addWidget(dialog)
    with AnnotationStore.open(reviewed_store, "r") as store:
        count = count_reviewed(store)
    assert count.beats > 300 and count.apcs > 100  # 209 is rich in APCs
    assert dialog.store_table.item(0, 1).text() == str(count.beats)
    assert dialog.base_box.currentText().startswith(BUNDLED) and dialog.start_button.isEnabled()
    dialog.budget.setValue(20)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled()  # the GUI thread is free while it trains
    out = dialog.out_dir
    assert out.parent == registry.root / "retraining"
    qtbot.waitUntil(lambda: dialog.result_state != "running", timeout=TRAINING_TIMEOUT_MS)
    assert dialog.result_state == "finished", dialog.log_view.toPlainText()
    compare = dialog.comparison_event()
    assert 0 <= compare.before_f1 <= 1 and 0 <= compare.after_ppv <= 1
    assert "new model" in dialog.comparison.text() and "+P" in dialog.comparison.text()
    assert f"{100 * compare.after_se:.1f}" in dialog.comparison.text()
    assert compare.verdict in dialog.comparison.text()
    recommended = dialog.activate_button if compare.verdict == "better" else dialog.keep_button
    assert recommended.isDefault()
    assert dialog.progress.value() == dialog.progress.maximum() == 1
    assert len(dialog.loss_curve.getData()[0]) == 1 and len(dialog.val_ap_curve.getData()[0]) == 1
    assert registry.active_id() == BUNDLED  # nothing changes until the user says so
    activated = []
    library.events.active_changed.connect(activated.append)
    qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert activated and registry.active_id() == activated[0] != BUNDLED
    assert registry.folder(activated[0]).is_dir() and not out.exists()
    card = next(m.card for m in registry.models() if m.model_id == activated[0])
    assert card.training["base_model"].startswith("danet")


def test_cancel_kills_the_trainer_and_leaves_the_registry_alone(qtbot, registry, reviewed_store):
    first = registry.add(random_model(registry.root / "scratch-a", 1))
    registry.activate(first)
    before = [(m.model_id, m.active) for m in registry.models()]
    dialog = RetrainDialog(registry, [reviewed_store], training_options=LONG_TRAINING)
    qtbot.addWidget(dialog)
    dialog.start()
    out = dialog.out_dir
    # Cancel once the trainer has loaded the beats and begun fitting.
    qtbot.waitUntil(lambda: any(isinstance(e, Start) for e in dialog.events), timeout=TRAINING_TIMEOUT_MS)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert dialog.result_state == "cancelled" and not out.exists()
    assert [(m.model_id, m.active) for m in registry.models()] == before and registry.active_id() == first
    assert dialog.start_button.isEnabled()  # a new attempt may start


def test_too_few_reviewed_beats_disable_start(qtbot, registry, record, model, tmp_path):
    path = tmp_path / "unreviewed.danet.h5"
    with AnnotationStore.open(path, "a") as store:
        analyse_recording(open_recording(record), store, who="test", model=model)
    dialog = RetrainDialog(registry, [path])
    qtbot.addWidget(dialog)
    assert not dialog.start_button.isEnabled()
    assert dialog.readiness.text().startswith("Too few reviewed beats to retrain: 0 beats with 0 APCs")


def test_the_manager_activates_rolls_back_and_refuses_deleting_the_active_model(qtbot, registry, tmp_path,
                                                                                 monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    first = registry.add(random_model(tmp_path / "a", 1))
    library = ModelLibrary(registry.root)
    dialog = model_manager(library)
    qtbot.addWidget(dialog)
    changes = []
    library.events.active_changed.connect(changes.append)
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, 5).text() == "yes"  # bundled, active
    dialog.select_model(first)
    qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert registry.active_id() == first and changes == [first]
    assert dialog.table.item(1, 0).text() == first and dialog.table.item(1, 5).text() == "yes"
    dialog.select_model(first)
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert warnings == [f"model {first} is active; activate another before deleting it"]
    qtbot.mouseClick(dialog.rollback_button, Qt.MouseButton.LeftButton)
    assert registry.active_id() == BUNDLED and changes == [first, BUNDLED]
    dialog.select_model(first)
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert [m.model_id for m in registry.models()] == [BUNDLED] and dialog.table.rowCount() == 1


def test_reanalysis_with_a_new_model_keeps_the_reviewers_labels(qtbot, registry, analysed, tmp_path):
    analysed.review.select_row(5)
    sample = int(analysed.review.session.table.sample[5])
    qtbot.keyClick(analysed.view, Qt.Key.Key_V)
    new = registry.add(random_model(tmp_path / "new", 2))
    manager = analysed.show_model_manager()
    manager.select_model(new)
    qtbot.mouseClick(manager.activate_button, Qt.MouseButton.LeftButton)
    assert analysed.analysing  # the record is re-analysed with the new model, off the GUI thread
    qtbot.waitUntil(lambda: not analysed.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    assert analysed.model.model_id == analysed.review.store.record(analysed.review.recording.name).model.model_id
    assert analysed.review.session.model_id.startswith("random2@")
    table = analysed.review.session.table
    assert table.review_symbol[np.searchsorted(table.sample, sample)] == "V"
    assert table.reviewer[np.searchsorted(table.sample, sample)] == "dr test"
    manager.close()


def test_most_uncertain_first_puts_disagreements_with_the_reference_on_top(qtbot, window, record, model):
    with AnnotationStore.open(record.with_name("209_excerpt.danet.h5"), "a") as store:
        recording = open_recording(record)
        analyse_recording(recording, store, who="test", model=model)
        import_annotations(recording, store, "atr", as_review=False, who="reference")
    assert window.open_record(str(record))
    qtbot.waitUntil(lambda: not window.analysing, timeout=ANALYSIS_TIMEOUT_MS)
    dock = window.review_list
    dock.order.setCurrentIndex(1)
    disagrees = dock.model.disagreements(window.review.session)
    assert disagrees.any(), "the bundled model and the 209 reference disagree somewhere"
    rows = dock.model.rows
    on_top = disagrees[rows]
    assert on_top[: on_top.sum()].all()  # every disagreement before every agreement
    assert set(np.flatnonzero(disagrees)) <= set(rows)  # reference APCs the model missed are listed too


def test_the_menus_open_the_dialogs_on_the_open_store(qtbot, registry, analysed):
    titles = {action.text() for menu in analysed.menuBar().actions() for action in menu.menu().actions()}
    assert {"&Retrain on reviewed labels…", "&Manage models…", "&Export…"} <= titles
    retrain = analysed.show_retrain()
    assert retrain.store_table.item(0, 0).text() == str(analysed.review.store.path.resolve())
    assert not retrain.start_button.isEnabled()  # nothing reviewed yet in this store
    export = analysed.show_export()
    assert export.store_path == analysed.review.store.path and "209_excerpt" in export.current_scope.text()
    retrain.close()
    export.close()
