"""Labelling with the ``bert`` teacher: bucketing and order, cache and resume, OOM back-off, bad outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kdtext.errors import ConfigError, KdtextError, TeacherOutputError
from kdtext.labels import LabelSpace
from kdtext.labelling.cache import LabelCache, sequence_keys
from kdtext.default_plugins.bert.inference import pad_batch
from kdtext.labelling.validate import check_teacher_output

from teacher_fixtures import (  # noqa: F401  (pytest fixtures)
    ForwardCounter,
    binary_data,
    teacher,
    tiny_bert_dir,
    trained_dir,
    varied_texts,
)


def unbucketed_logits(teacher, texts):
    """The reference: each text alone through the model, no padding, no batching."""
    import torch

    out = []
    with torch.no_grad():
        for seq in teacher.encode(texts)[0]:
            ids = torch.from_numpy(seq.astype(np.int64))[None, :]
            out.append(teacher.model(input_ids=ids).logits[0].numpy())
    return np.stack(out)


def test_bucketed_labelling_restores_input_order(teacher):
    texts = varied_texts(150, longest=40)
    counter = ForwardCounter(teacher.model)
    result = teacher.label(texts, batch_tokens=300, progress=False)
    assert counter.calls > 5  # really batched, in several buckets
    assert result.padding_ratio < 1.2  # sorted buckets: little padding
    reference = unbucketed_logits(teacher, texts)
    np.testing.assert_allclose(result.logits, reference, atol=1e-5)
    np.testing.assert_allclose(result.probs, teacher.activation(reference), atol=1e-5)
    # One batch of everything, padded to the longest, gives the same numbers too.
    single = teacher.label(texts, batch_tokens=10**6, progress=False)
    np.testing.assert_allclose(single.logits, reference, atol=1e-5)


def test_batches_respect_the_token_budget(teacher):
    texts = varied_texts(120, longest=40)
    counter = ForwardCounter(teacher.model)
    teacher.label(texts, batch_tokens=200, progress=False)
    lengths = sorted((len(s) for s in teacher.encode(texts)[0]), reverse=True)
    assert counter.examples == len(texts)
    start = 0
    for size in counter.batch_sizes:  # longest first, each padded batch within budget
        assert size * lengths[start] <= 200 or size == 1
        start += size
    capped = ForwardCounter(teacher.model)
    teacher.label(texts, batch_tokens=10**6, max_batch_size=16, progress=False)
    assert max(capped.batch_sizes) == 16


def test_duplicate_inputs_are_computed_once(teacher):
    texts = ["good movie", "bad film", "good movie", "good movie", "it was okay"]
    counter = ForwardCounter(teacher.model)
    result = teacher.label(texts, progress=False)
    assert counter.examples == 3 and result.n_computed == 3
    np.testing.assert_array_equal(result.probs[0], result.probs[2])


def test_pad_batch_masks_only_when_needed():
    ids, mask = pad_batch([np.array([5, 6, 7]), np.array([8])], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    ids, mask = pad_batch([np.array([5, 6]), np.array([8, 9])], pad_id=0)
    assert mask is None


def test_second_labelling_is_served_from_the_cache(teacher, tmp_path):
    texts = varied_texts(60)
    first = teacher.label(texts, cache_dir=tmp_path, progress=False)
    assert first.n_cached == 0 and first.n_computed == len(set(texts))
    counter = ForwardCounter(teacher.model)
    second = teacher.label(texts, cache_dir=tmp_path, progress=False)
    assert counter.calls == 0  # no model forward at all
    assert second.n_cached == len(texts) and second.n_computed == 0
    np.testing.assert_array_equal(second.probs, first.probs)
    np.testing.assert_array_equal(second.logits, first.logits)
    # The same examples given as ids hit the same entries (keys hash the model input).
    ids = [teacher.tokenizer(text)["input_ids"] for text in texts]
    from_ids = teacher.label(ids=ids, cache_dir=tmp_path, progress=False)
    assert counter.calls == 0 and from_ids.n_cached == len(texts)
    # New examples mixed in: only they are computed.
    mixed = teacher.label(texts + ["a very fun film", "dull plot"], cache_dir=tmp_path, progress=False)
    assert counter.examples == 2 and mixed.n_cached == len(texts)


def test_cache_is_keyed_by_teacher_and_precision(teacher, tmp_path):
    import torch

    texts = varied_texts(20)
    teacher.label(texts, cache_dir=tmp_path, progress=False)
    assert teacher.label(texts, cache_dir=tmp_path, quantize="int8", progress=False).n_cached == 0
    with torch.no_grad():
        teacher.model.classifier.bias += 1.0
    teacher._fingerprint = None  # weights changed in place, as after further training
    changed = teacher.label(texts, cache_dir=tmp_path, progress=False)
    assert changed.n_cached == 0
    assert len(list(tmp_path.iterdir())) == 3  # fp32, int8, and the changed teacher's fp32


def test_interrupted_job_resumes_where_it_stopped(teacher, tmp_path):
    texts = varied_texts(100)
    reference = teacher.label(texts, progress=False).probs

    def crash_on_fifth_batch(counter, ids):
        if counter.calls == 4:
            raise RuntimeError("simulated crash")

    ForwardCounter(teacher.model, fail=crash_on_fifth_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        teacher.label(texts, cache_dir=tmp_path, batch_tokens=160, flush_every=1, progress=False)
    teacher.model.forward = teacher.model.forward.original
    counter = ForwardCounter(teacher.model)
    resumed = teacher.label(texts, cache_dir=tmp_path, batch_tokens=160, progress=False)
    assert resumed.n_cached > 0  # the four finished batches were kept
    assert counter.examples == resumed.n_computed == len(set(texts)) - resumed.n_cached
    np.testing.assert_allclose(resumed.probs, reference, atol=1e-6)


def test_killed_job_resumes_where_it_stopped(trained_dir, tmp_path):
    """SIGKILL in the middle of labelling (no cleanup runs): the rerun labels only the rest."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import torch
        torch.set_num_threads(1)
        from kdtext.default_plugins.bert.teacher import BertTeacher
        from teacher_fixtures import ForwardCounter, varied_texts
        teacher = BertTeacher.load({str(trained_dir)!r}, device="cpu", num_threads=1)
        def kill(counter, ids):
            if counter.calls == 6:
                os.kill(os.getpid(), signal.SIGKILL)
        ForwardCounter(teacher.model, fail=kill)
        teacher.label(varied_texts(100), cache_dir={str(tmp_path)!r}, batch_tokens=160, flush_every=1, progress=False)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    from kdtext.default_plugins.bert.teacher import BertTeacher

    teacher = BertTeacher.load(trained_dir, device="cpu", num_threads=1)
    texts = varied_texts(100)
    counter = ForwardCounter(teacher.model)
    resumed = teacher.label(texts, cache_dir=tmp_path, batch_tokens=160, progress=False)
    assert resumed.n_cached > 0 and counter.examples == resumed.n_computed
    assert resumed.n_cached + resumed.n_computed >= len(set(texts))
    teacher.model.forward = counter.original
    np.testing.assert_allclose(resumed.probs, teacher.label(texts, progress=False).probs, atol=1e-6)


def test_cache_ignores_temporary_and_damaged_chunks(tmp_path, capsys):
    cache = LabelCache(tmp_path, "t-fp32", 2)
    keys = sequence_keys([np.array([1, 2, 3]), np.array([1, 2])])
    cache.add(keys, np.array([[0.1, 0.2], [0.3, 0.4]], np.float32))
    (cache.path / ".chunk-123.npz.tmp").write_bytes(b"half a chunk")  # what a kill mid-write leaves
    (cache.path / "chunk-bad-0.npz").write_bytes(b"not a zip file")
    fresh = LabelCache(tmp_path, "t-fp32", 2)  # another worker
    found, logits, _ = fresh.lookup(np.concatenate([keys, sequence_keys([np.array([9])])]))
    assert found.tolist() == [True, True, False]
    np.testing.assert_allclose(logits[:2], [[0.1, 0.2], [0.3, 0.4]], rtol=1e-6)
    assert "unreadable cache chunk ignored" in capsys.readouterr().err
    with pytest.raises(KdtextError, match="holds 2 labels per example"):
        LabelCache(tmp_path, "t-fp32", 3)


def test_cache_sees_chunks_written_by_other_workers(tmp_path):
    one, two = LabelCache(tmp_path, "ns", 1), LabelCache(tmp_path, "ns", 1)
    keys = sequence_keys([np.array([i, i + 1]) for i in range(50)])
    one.add(keys[:25], np.arange(25, dtype=np.float32)[:, None])
    two.add(keys[25:], np.arange(25, 50, dtype=np.float32)[:, None])
    found, logits, _ = one.lookup(keys)
    assert found.all() and logits[:, 0].tolist() == list(range(50))


def oom_above(limit):
    import torch

    def fail(counter, ids):
        if ids.shape[0] > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    return fail


def test_out_of_memory_halves_the_batch(teacher):
    texts = varied_texts(100)
    reference = teacher.label(texts, progress=False).probs
    counter = ForwardCounter(teacher.model, fail=oom_above(12))
    result = teacher.label(texts, batch_tokens=10**5, progress=False)
    assert result.n_oom_halvings > 0
    assert max(counter.batch_sizes) <= 12 and counter.examples == len(set(texts))
    assert result.batch_tokens < 10**5  # the smaller budget is kept for the rest of the job
    np.testing.assert_allclose(result.probs, reference, atol=1e-5)


def test_out_of_memory_on_a_single_example_is_one_clear_error(teacher):
    ForwardCounter(teacher.model, fail=oom_above(0))
    with pytest.raises(KdtextError, match="out of memory on cpu labelling a single example of"):
        teacher.label(["good movie"], progress=False)


def test_other_runtime_errors_are_not_mistaken_for_oom(teacher):
    def fail(counter, ids):
        raise RuntimeError("shape mismatch")

    ForwardCounter(teacher.model, fail=fail)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        teacher.label(["good movie", "bad film"], progress=False)


def test_cuda_without_a_gpu_is_one_clear_error(teacher, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for spec in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match=f"device '{spec}' was requested, but CUDA is not available"):
            teacher.label(["good movie"], device=spec, progress=False)
    with pytest.raises(ConfigError, match="not valid"):
        teacher.label(["good movie"], device="gpu", progress=False)
    assert teacher.label(["good movie"], device="auto", progress=False).device == "cpu"


def test_missing_gpu_index_is_one_clear_error(monkeypatch):
    import torch

    from kdtext.default_plugins.bert.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match=r"only 1 GPU\(s\) are visible"):
        resolve_device("cuda:3")
    assert resolve_device("auto").type == "cuda"


def test_precision_and_quantization_choices(teacher):
    import torch

    model, variant, autocast = teacher.inference_model(torch.device("cpu"), backend="torch")
    assert variant == "fp32" and autocast is None
    # a small job: PyTorch even under "auto" (the ONNX export would not pay; see test_teacher_backends.py)
    assert teacher.inference_model(torch.device("cpu"), n_examples=10)[1] == "fp32"
    with pytest.raises(ConfigError, match="CPU only"):
        teacher.inference_model(torch.device("cuda"), quantize="int8")
    with pytest.raises(ConfigError, match="fp16 is for CUDA"):
        teacher.inference_model(torch.device("cpu"), precision="fp16")
    assert teacher.inference_model(torch.device("cpu"), precision="bf16")[1:] == ("bf16", torch.bfloat16)


def test_nan_and_inf_outputs_are_detected_and_never_cached(teacher, tmp_path):
    import torch

    def poisoned(counter, ids):
        pass

    counter = ForwardCounter(teacher.model, fail=poisoned)
    original = counter.original

    def nan_forward(*args, **kwargs):
        out = original(*args, **kwargs)
        out.logits[0, 0] = float("nan")
        return out

    counter.original = nan_forward
    with pytest.raises(TeacherOutputError, match=r"NaN or infinite scores for 1 of .*example \d+ \("):
        teacher.label(["good movie", "bad film", "fun"], cache_dir=tmp_path, progress=False)
    assert not list((tmp_path).glob("*/chunk-*.npz"))

    def inf_forward(*args, **kwargs):
        out = original(*args, **kwargs)
        out.logits[:] = torch.inf
        return out

    counter.original = inf_forward
    with pytest.raises(TeacherOutputError, match="NaN or infinite"):
        teacher.label(["good movie"], progress=False)


def test_check_teacher_output_catches_every_kind_of_bad_row():
    space = LabelSpace(("neg", "pos"))
    good = np.array([[0.2, 0.8], [0.5, 0.5]])
    assert check_teacher_output(good, 2, space).dtype == np.float32
    with pytest.raises(TeacherOutputError, match=r"shape \(3, 2\), expected \(2, 2\)"):
        check_teacher_output(np.vstack([good, good[:1]]), 2, space)
    with pytest.raises(TeacherOutputError, match=r"shape \(2,\)"):
        check_teacher_output(np.array([0.2, 0.8]), 2, space)
    with pytest.raises(TeacherOutputError, match="NaN or infinite probabilities for 1 of 2 examples"):
        check_teacher_output(np.array([[0.2, 0.8], [np.nan, 0.5]]), 2, space)
    with pytest.raises(TeacherOutputError, match="outside"):
        check_teacher_output(np.array([[1.2, -0.2], [0.5, 0.5]]), 2, space)
    with pytest.raises(TeacherOutputError, match=r"do not sum to 1 .*first: ex 1, sum 0.7000"):
        check_teacher_output(np.array([[0.2, 0.8], [0.2, 0.5]]), 2, space, where=lambda i: f"ex {i}")
    check_teacher_output(np.array([[0.9, 0.9], [0.0, 0.1]]), 2, LabelSpace(("a", "b"), multilabel=True))
    with pytest.raises(TeacherOutputError, match="not a numeric matrix"):
        check_teacher_output([["x", "y"]], 1, space)


def test_progress_bar_reports_examples_and_tokens_per_second(teacher, capsys):
    teacher.label(varied_texts(30), progress=True)
    err = capsys.readouterr().err
    assert "labelling" in err and "/30 examples" in err and "tok/s" in err  # the rate and ETA follow tokens
