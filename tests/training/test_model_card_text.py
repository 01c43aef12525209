"""The shipped model card's text is the one ``danet-train report`` writes from model.json and ds2.json."""

from __future__ import annotations

import json

from danet_viewer.model.inference import default_model_folder
from training.report import model_card_markdown


def _shipped():
    folder = default_model_folder()
    card = json.loads((folder / "model.json").read_text())
    return folder, card, json.loads((folder / "ds2.json").read_text())


def test_the_shipped_card_text_is_what_its_figures_write():
    folder, card, ds2 = _shipped()
    assert (folder / "MODEL_CARD.md").read_text() == model_card_markdown(card, ds2)


def test_the_card_names_its_record_rule_how_it_was_chosen_and_how_it_stands_to_the_floor():
    _, card, ds2 = _shipped()
    text = model_card_markdown(card, ds2)
    chosen = card["metrics"]["record_rule"]
    assert f"Record rule `{card['record_rule']}`" in text and "Chosen on the 74 training patients" in text
    assert f"on svdb's 52 alone {chosen['svdb_f1']:.3f}, above the RR rule's {chosen['svdb_rr_rule_f1']:.3f}" in text
    chosen["svdb_f1"] = chosen["svdb_rr_rule_f1"] - 0.01
    assert "below the RR rule's" in model_card_markdown(card, ds2), "where it loses to the floor the card says so"
    assert "Greenwald SD" in text, "svdb, which chose the rule, is cited"
    del card["metrics"]["record_rule"]  # a card that records no choice still describes its rule
    text = model_card_markdown(card, ds2)
    assert f"Record rule `{card['record_rule']}`" in text and "Chosen on" not in text
