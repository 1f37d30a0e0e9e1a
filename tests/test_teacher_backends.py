"""Labelling backends of the ``bert`` teacher: ONNX Runtime vs PyTorch, the export cache, ``auto``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.errors import ConfigError
from kdtext.default_plugins.bert import ort
from kdtext.default_plugins.bert.teacher import BertTeacher

from teacher_fixtures import binary_data, teacher, tiny_bert_dir, trained_dir, varied_texts  # noqa: F401


@pytest.fixture(autouse=True)
def export_cache(tmp_path, monkeypatch):
    """Exports go to this test's folder, never to the user's cache."""
    root = tmp_path / "onnx-cache"
    monkeypatch.setenv("KDTEXT_ONNX_CACHE", str(root))
    return root


def test_onnx_gives_the_same_probabilities_as_torch(teacher, export_cache):
    texts = varied_texts(120, longest=40)  # long and short: padded batches and masks
    reference = teacher.label(texts, backend="torch", batch_tokens=200, progress=False)
    result = teacher.label(texts, backend="onnx", batch_tokens=200, progress=False)
    assert reference.variant == "fp32" and result.variant == "onnx-fp32"
    np.testing.assert_allclose(result.logits, reference.logits, atol=1e-4)
    assert np.abs(result.probs - reference.probs).max() < 1e-4
    assert (result.probs.argmax(1) == reference.probs.argmax(1)).all()
    info = json.loads((export_cache / teacher.fingerprint() / "export.json").read_text())
    assert info["fingerprint"] == teacher.fingerprint() and info["probe_max_logit_diff"] <= ort.PROBE_TOLERANCE
    assert info["optimized"] and info["fused"].get("Attention") == 2  # the tiny BERT's two layers, fused


def test_the_export_is_cached_by_fingerprint(trained_dir, export_cache, monkeypatch):
    texts = varied_texts(30)
    first = BertTeacher.load(trained_dir, device="cpu", num_threads=1)
    expected = first.label(texts, backend="onnx", progress=False).probs
    folder = export_cache / first.fingerprint()
    made = (folder / "model.onnx").stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(ort, "_export", no_export)
    again = BertTeacher.load(trained_dir, device="cpu", num_threads=1)  # a new process would do the same
    result = again.label(texts, backend="onnx", progress=False)
    np.testing.assert_array_equal(result.probs, expected)
    assert (folder / "model.onnx").stat().st_mtime_ns == made
    assert again._onnx and next(iter(again._onnx.values())).info["cached"] is True


def test_changed_weights_are_exported_anew(teacher, export_cache):
    import torch

    texts = varied_texts(20)
    before = teacher.label(texts, backend="onnx", progress=False).probs
    with torch.no_grad():
        teacher.model.classifier.bias += torch.tensor([2.0, -2.0])
    teacher._fingerprint = None  # what fit() does after changing the weights
    after = teacher.label(texts, backend="onnx", progress=False)
    torch_after = teacher.label(texts, backend="torch", progress=False)
    assert len([p for p in export_cache.iterdir() if not p.name.startswith(".")]) == 2
    np.testing.assert_allclose(after.probs, torch_after.probs, atol=1e-4)
    assert not np.allclose(after.probs, before, atol=1e-3)


def test_label_cache_keeps_backends_apart(teacher, tmp_path):
    texts = varied_texts(40)
    cache = tmp_path / "labels"
    teacher.label(texts, backend="torch", cache_dir=cache, progress=False)
    onnx = teacher.label(texts, backend="onnx", cache_dir=cache, progress=False)
    assert onnx.n_cached == 0 and onnx.n_computed == 40  # fp32 labels of PyTorch are not reused as ONNX's
    again = teacher.label(texts, backend="onnx", cache_dir=cache, progress=False)
    assert again.n_cached == 40 and again.n_computed == 0
    np.testing.assert_array_equal(again.probs, onnx.probs)
    names = sorted(p.name for p in cache.iterdir())
    assert names == [f"{teacher.fingerprint()}-fp32", f"{teacher.fingerprint()}-onnx-fp32"]


def test_auto_exports_only_for_large_cpu_jobs(teacher, monkeypatch):
    import torch

    cpu = torch.device("cpu")
    assert ort.resolve_backend("auto", cpu, n_examples=ort.AUTO_MIN_EXAMPLES - 1) == "torch"
    assert ort.resolve_backend("auto", cpu, n_examples=ort.AUTO_MIN_EXAMPLES) == "onnx"
    assert ort.resolve_backend("auto", cpu, quantize="int8") == "torch"
    assert ort.resolve_backend("auto", torch.device("cuda")) == "torch"
    assert teacher.label(varied_texts(20), progress=False).variant == "fp32"
    monkeypatch.setattr(ort, "AUTO_MIN_EXAMPLES", 10)
    assert teacher.label(varied_texts(20), progress=False).variant == "onnx-fp32"


def test_auto_falls_back_to_torch_when_the_export_fails(teacher, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter says no")

    monkeypatch.setattr(ort, "_export", broken)
    monkeypatch.setattr(ort, "AUTO_MIN_EXAMPLES", 10)
    result = teacher.label(varied_texts(20), progress=False)
    assert result.variant == "fp32"
    assert "no ONNX export of the teacher (exporter says no); labelling with PyTorch" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="exporter says no"):
        BertTeacher.load(teacher.path, device="cpu").label(varied_texts(5), backend="onnx", progress=False)


def test_backend_errors_are_one_line(teacher, monkeypatch):
    import torch

    with pytest.raises(ConfigError, match="runs on the CPU"):
        ort.resolve_backend("onnx", torch.device("cuda"))
    with pytest.raises(ConfigError, match="use it with --backend torch"):
        teacher.label(["good"], backend="onnx", quantize="int8", progress=False)
    with pytest.raises(ConfigError, match="unknown backend 'tensorrt'"):
        teacher.label(["good"], backend="tensorrt", progress=False)
    with pytest.raises(ConfigError, match="backend must be auto, torch or onnx"):
        BertTeacher(backend="jax")
    monkeypatch.setattr(ort, "onnx_available", lambda: False)
    with pytest.raises(ConfigError, match="pip install onnxruntime onnx"):
        teacher.label(["good"], backend="onnx", progress=False)
    assert ort.resolve_backend("auto", torch.device("cpu")) == "torch"


def test_cpu_bf16_autocast_is_close_to_fp32(teacher):
    texts = varied_texts(40)
    fp32 = teacher.label(texts, backend="torch", progress=False)
    bf16 = teacher.label(texts, precision="bf16", progress=False)
    assert bf16.variant == "bf16"
    assert np.abs(bf16.probs - fp32.probs).max() < 0.05


def test_label_command_takes_a_backend(trained_dir, tmp_path):
    source = tmp_path / "in.jsonl"
    texts = varied_texts(25)
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    outputs = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.jsonl"
        result = CliRunner().invoke(
            cli, ["label", str(source), "-o", str(out), "--model", str(trained_dir), "--device", "cpu",
                  "--backend", backend, "--no-progress", "--json"], catch_exceptions=False,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["variant"] == ("onnx-fp32" if backend == "onnx" else "fp32")
        outputs[backend] = np.array([[r["probs"]["neg"], r["probs"]["pos"]] for r in map(json.loads, out.read_text().splitlines())])
    np.testing.assert_allclose(outputs["onnx"], outputs["torch"], atol=1e-4)
    out = tmp_path / "bf16.jsonl"
    result = CliRunner().invoke(
        cli, ["label", str(source), "-o", str(out), "--model", str(trained_dir), "--device", "cpu", "--precision", "bf16", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["variant"] == "bf16"  # on PyTorch, whatever the backend's default
