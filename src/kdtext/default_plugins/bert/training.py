"""Finetuning the ``bert`` teacher (:func:`fit_teacher`) and its loop: AdamW, linear warm-up and decay, gradient clipping, early stopping on dev.

Batches are length-bucketed too: the shuffled training set is cut into pools of 50
batches, each pool sorted by length and cut into batches, and the batches shuffled.
Every epoch still sees every example in a random order of batches, with far less
padding (the same trick as fairseq's and AllenNLP's bucket samplers).
"""

from __future__ import annotations

import math
import random
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ...errors import ConfigError
from ...metrics import dev_metric_name
from .inference import pad_batch

if TYPE_CHECKING:
    import torch

    from ...data import Dataset

POOL_BATCHES = 50
#: The adaptive schedule (``epochs=None``): at least this many epochs, at most ``max_epochs``.
MIN_EPOCHS = 3


def planned_epochs(n_train: int, batch_size: int, epochs: int | None, min_steps: int, max_epochs: int) -> int:
    """Epochs to run: ``epochs`` when given; else enough for ``min_steps`` optimizer steps,
    between :data:`MIN_EPOCHS` and ``max_epochs`` (``kdtext train-teacher --help`` says it in words).

    Why: a fixed 3 epochs gives 200 examples 21 steps, and the head barely moves from
    its random start; the same model reaches far better accuracy with more steps
    (``benchmarks/teacher_schedule.py`` compares the rule with a sweep).
    """
    if epochs is not None:
        return int(epochs)
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    return int(min(max(MIN_EPOCHS, math.ceil(min_steps / steps_per_epoch)), max(MIN_EPOCHS, max_epochs)))


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of indices whose members have similar lengths."""
    perm = rng.permutation(len(lengths))
    pool = batch_size * POOL_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(perm), pool):
        chunk = perm[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def soft_loss(logits: "torch.Tensor", targets: "torch.Tensor", multilabel: bool) -> "torch.Tensor":
    """Cross-entropy against target rows (one-hot or soft); binary cross-entropy per label if multi-label."""
    import torch

    if multilabel:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def dev_scores(logits: np.ndarray, targets: np.ndarray, multilabel: bool) -> dict[str, float]:
    """``loss`` and ``metric`` on dev: the model-selection score the students use too,
    :func:`kdtext.metrics.dev_score` (accuracy; macro-F1 at 0.5 for multi-label)."""
    import torch

    from ...metrics import dev_score

    t_logits = torch.from_numpy(logits)
    t_targets = torch.from_numpy(targets)
    loss = float(soft_loss(t_logits, t_targets, multilabel))
    probs = torch.sigmoid(t_logits.double()) if multilabel else torch.softmax(t_logits.double(), dim=-1)
    return {"loss": loss, "metric": float(dev_score(targets, probs.numpy(), multilabel))}


def optimizer_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Parameters with weight decay, and biases / norm weights without (as in BERT's recipe)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lowered = name.lower()
        (no_decay if lowered.endswith("bias") or "norm" in lowered else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def finetune(
    model: Any,
    *,
    train_seqs: Sequence[np.ndarray],
    train_targets: np.ndarray,
    dev_seqs: Sequence[np.ndarray] | None,
    dev_targets: np.ndarray | None,
    predict_logits: Callable[..., np.ndarray],
    multilabel: bool,
    pad_id: int,
    device: "torch.device",
    epochs: int,
    lr: float,
    batch_size: int,
    warmup_ratio: float,
    weight_decay: float,
    max_grad_norm: float,
    patience: int | None,
    seed: int,
    progress: bool,
    stop_after_steps: int = 0,
) -> dict[str, Any]:
    """Train ``model`` in place, leaving it with the best dev epoch's weights.

    ``predict_logits(seqs)`` scores dev; with ``progress`` it is called as
    ``predict_logits(seqs, progress=LABEL)`` and should show its own bar (a dev pass can
    take as long as a tenth of an epoch), and the kept epoch is printed at the end.

    Early stopping (``patience`` epochs without a better dev score) is considered only
    once ``stop_after_steps`` optimizer steps are done: on small data the dev score can
    sit at chance for the first epochs of warm-up, and stopping there keeps an
    untrained head (200 examples: 0.50 test accuracy instead of 0.75).

    Returns figures: ``history`` (per epoch: train loss, dev loss and metric, seconds),
    ``best_epoch``, ``epochs_run``, ``train_seconds``, ``train_examples_per_second``.
    """
    import torch

    rng = np.random.default_rng(seed)
    lengths = np.fromiter((len(s) for s in train_seqs), dtype=np.int64, count=len(train_seqs))
    steps_per_epoch = math.ceil(len(train_seqs) / batch_size)
    total_steps = max(1, epochs * steps_per_epoch)
    warmup_steps = int(warmup_ratio * total_steps)

    def schedule(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    optimizer = torch.optim.AdamW(optimizer_groups(model, weight_decay), lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    autocast_dtype = None
    if device.type == "cuda":
        autocast_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    targets_all = torch.from_numpy(np.asarray(train_targets, dtype=np.float32))

    history: list[dict[str, Any]] = []
    best: tuple[float, float] | None = None
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch = 0
    since_best = 0
    started = time.perf_counter()
    examples_seen = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, unit="batch", desc="finetuning", file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        for epoch in range(1, epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            losses = []
            for index in bucketed_batches(lengths, batch_size, rng):
                ids_np, mask_np = pad_batch([train_seqs[i] for i in index], pad_id)
                if mask_np is None:
                    mask_np = np.ones_like(ids_np)
                ids = torch.from_numpy(ids_np).to(device, non_blocking=True)
                mask = torch.from_numpy(mask_np).to(device, non_blocking=True)
                targets = targets_all[torch.from_numpy(index)].to(device, non_blocking=True)
                if autocast_dtype is not None:
                    with torch.autocast("cuda", dtype=autocast_dtype):
                        logits = model(input_ids=ids, attention_mask=mask).logits
                else:
                    logits = model(input_ids=ids, attention_mask=mask).logits
                loss = soft_loss(logits.float(), targets, multilabel)
                loss.backward()
                if max_grad_norm and max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(float(loss.detach()))
                examples_seen += len(index)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.3f}")
            model.eval()
            record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else None}
            if dev_seqs is not None and dev_targets is not None and len(dev_seqs):
                if bar is not None:
                    what = f"teacher: dev evaluation after epoch {epoch} ({len(dev_seqs):,} examples)"
                    bar.set_description(f"finetuning, epoch {epoch} done")
                    logits = predict_logits(dev_seqs, progress=what)
                    bar.set_description("finetuning")
                else:
                    logits = predict_logits(dev_seqs)
                scores = dev_scores(logits, np.asarray(dev_targets, np.float32), multilabel)
                record["dev_loss"], record["dev_metric"] = scores["loss"], scores["metric"]
                key = (scores["metric"], -scores["loss"])
                if best is None or key > best:
                    best, best_epoch, since_best = key, epoch, 0
                    best_state = {name: t.detach().to("cpu", copy=True) for name, t in model.state_dict().items()}
                else:
                    since_best += 1
            else:
                best_epoch = epoch
            record["seconds"] = round(time.perf_counter() - epoch_start, 3)
            history.append(record)
            if patience is not None and since_best >= patience and epoch * steps_per_epoch >= stop_after_steps:
                break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None and best_epoch != len(history):
        model.load_state_dict(best_state)
    model.eval()
    seconds = time.perf_counter() - started
    if progress:
        kept = f"kept epoch {best_epoch} of {len(history)}"
        if best is not None:
            kept += f" (dev {dev_metric_name(multilabel)} {best[0]:.4f}, dev loss {-best[1]:.4f})"
        print(f"teacher: {kept}; finetuning took {seconds:.0f}s", file=sys.stderr, flush=True)
    return {
        "history": history,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "train_seconds": round(seconds, 3),
        "train_examples_per_second": round(examples_seen / seconds, 1) if seconds > 0 else None,
        "dev_metric": None if best is None else best[0],
        "dev_loss": None if best is None else -best[1],
    }


def fit_teacher(teacher: Any, train: "Dataset", dev: "Dataset | None" = None) -> dict[str, Any]:
    """:meth:`BertTeacher.fit <kdtext.default_plugins.bert.teacher.BertTeacher.fit>`: finetune
    ``teacher`` on ``train``, keeping the epoch with the best ``dev`` score; returns figures."""
    import torch

    from .device import resolve_device, use_all_cores

    if len(train) == 0:
        raise ConfigError("cannot finetune the teacher on an empty training set")
    if dev is not None and dev.label_space != train.label_space:
        raise ConfigError(
            f"dev labels ({', '.join(dev.label_space.labels)}) differ from training labels "
            f"({', '.join(train.label_space.labels)})"
        )
    p = teacher.params
    seed = int(p["seed"])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    teacher.training = {}
    teacher.build(train.label_space, train.texts)
    device = resolve_device(p["device"])
    threads = use_all_cores(p["num_threads"]) if device.type == "cpu" else None
    teacher.model.to(device)
    train_seqs, n_truncated = teacher.encode(train.texts)
    dev_seqs = teacher.encode(dev.texts)[0] if dev is not None and len(dev) else None
    epochs = planned_epochs(len(train), int(p["batch_size"]), p["epochs"], int(p["min_steps"]), int(p["max_epochs"]))

    def predict_logits(seqs: Sequence[np.ndarray], progress: bool | str = False) -> np.ndarray:
        # PyTorch, on the weights being trained (an ONNX export would be of stale weights).
        return teacher.label(ids=list(seqs), device=device, progress=progress, backend="torch").logits

    figures = finetune(
        teacher.model,
        train_seqs=train_seqs,
        train_targets=train.targets,
        dev_seqs=dev_seqs,
        dev_targets=None if dev is None else dev.targets,
        predict_logits=predict_logits,
        multilabel=train.label_space.multilabel,
        pad_id=teacher.pad_id,
        device=device,
        epochs=epochs,
        lr=float(p["lr"]),
        batch_size=int(p["batch_size"]),
        warmup_ratio=float(p["warmup_ratio"]),
        weight_decay=float(p["weight_decay"]),
        max_grad_norm=float(p["max_grad_norm"]),
        patience=p["patience"],
        seed=seed,
        progress=bool(p["progress"]),
        stop_after_steps=int(p["min_steps"]) if p["epochs"] is None else 0,
    )
    teacher._fingerprint, teacher._quantized, teacher._onnx, teacher.path = None, None, {}, None
    teacher.training.update(
        {
            "base_model": str(p["model"]),
            "task": train.label_space.task,
            "n_train": len(train),
            "n_dev": 0 if dev is None else len(dev),
            "max_length": teacher.max_length,
            "n_truncated": n_truncated,
            "epochs": epochs,
            "epochs_rule": "given" if p["epochs"] is not None else f"adaptive (min_steps={p['min_steps']}, max_epochs={p['max_epochs']})",
            "lr": float(p["lr"]),
            "batch_size": int(p["batch_size"]),
            "warmup_ratio": float(p["warmup_ratio"]),
            "weight_decay": float(p["weight_decay"]),
            "max_grad_norm": float(p["max_grad_norm"]),
            "patience": p["patience"],
            "seed": seed,
            "device": str(device),
            "threads": threads,
            "dev_metric_name": dev_metric_name(train.label_space.multilabel),
            "parameters": int(sum(t.numel() for t in teacher.model.parameters())),
            **figures,
        }
    )
    return dict(teacher.training)
