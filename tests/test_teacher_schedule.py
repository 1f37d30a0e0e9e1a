"""The teacher's finetuning schedule: epochs adapted to the data size, no early stop before the minimum steps."""

from __future__ import annotations

import numpy as np
import pytest

from kdtext.errors import ConfigError
from kdtext.default_plugins.bert.teacher import BertTeacher
from kdtext.default_plugins.bert.training import MIN_EPOCHS, finetune, planned_epochs

from teacher_fixtures import fast_params, sentiment_data, tiny_bert_dir  # noqa: F401


def test_planned_epochs_follow_the_data_size():
    assert planned_epochs(200, 32, None, 200, 20) == 20  # 7 steps an epoch: 29 epochs wanted, capped
    assert planned_epochs(1000, 32, None, 200, 20) == 7  # 32 steps an epoch
    assert planned_epochs(10_000, 32, None, 200, 20) == MIN_EPOCHS
    assert planned_epochs(200, 32, 2, 200, 20) == 2  # given epochs are obeyed
    assert planned_epochs(50, 8, None, 1000, 2) == MIN_EPOCHS  # max_epochs below the minimum


def test_bad_schedule_params_are_refused():
    with pytest.raises(ConfigError, match="min_steps must be a positive integer"):
        BertTeacher(min_steps=0)
    with pytest.raises(ConfigError, match="epochs must be a positive integer"):
        BertTeacher(epochs=0)
    assert BertTeacher().params["epochs"] is None  # adaptive by default


def _finetune(tiny_bert_dir, stop_after_steps: int) -> dict:
    teacher = BertTeacher(**fast_params(tiny_bert_dir))
    data = sentiment_data(32, seed=1)
    teacher.build(data.label_space, data.texts)
    seqs = teacher.encode(data.texts)[0]
    import torch

    flat = np.zeros((len(seqs), 2), np.float32)  # a dev score that never improves after epoch 1
    return finetune(
        teacher.model, train_seqs=seqs, train_targets=data.targets, dev_seqs=seqs, dev_targets=data.targets,
        predict_logits=lambda s: flat[: len(s)], multilabel=False, pad_id=teacher.pad_id, device=torch.device("cpu"),
        epochs=5, lr=1e-3, batch_size=16, warmup_ratio=0.1, weight_decay=0.0, max_grad_norm=1.0, patience=1, seed=0,
        progress=False, stop_after_steps=stop_after_steps,
    )  # fmt: skip


def test_early_stopping_waits_for_the_minimum_steps(tiny_bert_dir):
    assert _finetune(tiny_bert_dir, 0)["epochs_run"] == 2  # patience 1: stops after the first epoch without gain
    waited = _finetune(tiny_bert_dir, 8)  # 2 steps an epoch: no stop before epoch 4
    assert waited["epochs_run"] == 4 and waited["best_epoch"] == 1


def test_fit_uses_and_records_the_adaptive_schedule(tiny_bert_dir):
    train, dev = sentiment_data(40, seed=0), sentiment_data(20, seed=3)
    teacher = BertTeacher(**fast_params(tiny_bert_dir, epochs=None, min_steps=12, max_epochs=20, patience=2))
    figures = teacher.fit(train, dev)
    assert figures["epochs"] == 4  # 40 examples at batch 16: 3 steps an epoch, 12 steps
    assert figures["epochs_rule"] == "adaptive (min_steps=12, max_epochs=20)"
    assert figures["epochs_run"] == 4  # no early stop before the 12 steps
    given = BertTeacher(**fast_params(tiny_bert_dir, epochs=2)).fit(train, dev)
    assert given["epochs"] == 2 and given["epochs_rule"] == "given"
