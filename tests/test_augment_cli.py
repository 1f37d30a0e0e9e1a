"""`kdtext augment`: output, determinism, skips and one-line errors naming file and line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kdtext.cli import cli

TEXTS = [
    "A gripping, well-acted thriller that never lets go.",
    "",
    "Fine",
    "Dull and far too long, but the music is nice. The cast tries hard!",
    "I didn't laugh once; it's a mess.",
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)])


@pytest.fixture
def source(tmp_path):
    return write_jsonl(tmp_path / "in.jsonl", [{"text": t, "label": "x"} for t in TEXTS])


def test_writes_jsonl_with_source_and_augmenter(tmp_path, source):
    out = tmp_path / "out.jsonl"
    result = invoke("augment", source, "-o", out, "--n", 40, "--seed", 3, "--param", "p_mask=0.2", "--quiet")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and all(set(r) == {"text", "source", "augmenter"} for r in rows)
    assert {r["source"] for r in rows} <= {0, 3, 4} and {r["augmenter"] for r in rows} == {"tang"}
    assert len({r["text"] for r in rows}) == 40
    assert "wrote 40 examples from 5 texts" in result.output
    assert "skipped 2 texts: 1 empty, 1 one-token" in result.output
    again = tmp_path / "again.jsonl"
    invoke("augment", source, "-o", again, "--n", 40, "--seed", 3, "--param", "p_mask=0.2", "--quiet")
    assert again.read_bytes() == out.read_bytes()


def test_csv_input_and_other_augmenters(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('text,label\n"Great fun, really.",pos\n"Boring. Very boring!",neg\n', encoding="utf-8")
    for name in ("mask", "ngram", "sentence", "pos"):
        out = tmp_path / f"{name}.jsonl"
        result = invoke("augment", src, "-o", out, "--augmenter", name, "--n", 5, "--quiet")
        assert result.exit_code == 0, result.output
        assert all(json.loads(line)["augmenter"] == name for line in out.read_text().splitlines())


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"text": "ok text"}\n{"txt": "no field"}\n', "in.jsonl:2: missing 'text' field"),
        (b'{"text": "ok text"}\n{"text": 5}\n', "in.jsonl:2: 'text' must be a string, got int"),
        (b'{"text": "ok text"}\n{"text": "caf\xe9"}\n', "in.jsonl:2: not valid UTF-8"),
        (b'{"text": "ok text"}\n\n{"text": "' + b"a" * 100_001 + b'"}\n', "in.jsonl:3: text is 100,001 characters long"),
        (b"", "in.jsonl: no texts in the file"),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line(tmp_path, content, message):
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    out = tmp_path / "out.jsonl"
    result = invoke("augment", src, "-o", out, "--quiet")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lang", "zz"], "unknown language 'zz'"),
        (["--lang", "sv", "--augmenter", "pos"], "no part-of-speech tagger for language 'sv'"),
        (["--augmenter", "tnag"], "unknown augmenter 'tnag'; available:"),
        (["--param", "p_mask=2"], "p_mask must be a number between 0 and 1"),
        (["--param", "nope=1"], "has no parameter(s) nope"),
        (["--param", "p_mask"], "--param takes NAME=VALUE"),
        (["--augmenter", "mask", "--augmenter", "ngram"], "one --augmenter per file, got 2 (mask, ngram)"),
    ],
)
def test_bad_settings_are_one_line(tmp_path, source, args, message):
    result = invoke("augment", source, "-o", tmp_path / "out.jsonl", "--quiet", *args)
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_language_without_tagger_runs_tang_with_a_note(tmp_path):
    src = write_jsonl(tmp_path / "sv.jsonl", [{"text": "Det var en riktigt bra film, tycker jag."}])
    result = invoke("augment", src, "-o", tmp_path / "out.jsonl", "--lang", "sv", "--n", 5, "--quiet")
    assert result.exit_code == 0, result.output
    assert "same-POS replacement is off" in result.output


def test_augment_does_not_import_torch(tmp_path, source):
    """Tokenizing, tagging and augmenting never use PyTorch; importing it through spaCy's thinc cost
    `kdtext augment` about 1.3 s of CPU and 180 MB before anything else (a subprocess: a fresh interpreter)."""
    import subprocess
    import sys

    out = tmp_path / "out.jsonl"
    code = (
        "import sys\n"
        "from kdtext.cli import cli\n"
        f"cli(['augment', {str(source)!r}, '-o', {str(out)!r}, '--n', '20', '--quiet'], standalone_mode=False)\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"  # and it still imports afterwards
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False" and len(out.read_text().splitlines()) == 20


def test_tag_sample_option_states_the_default_and_zero_tags_everything_in_context(tmp_path, source):
    from kdtext.augment.builder import TAG_SAMPLE

    help_text = " ".join(invoke("augment", "--help").output.split())
    assert f"[default: {TAG_SAMPLE};" in help_text and "0: tag every text in context" in help_text
    outputs = []
    for sample in (0, 3):  # 3 tokens: the first text is tagged in context, the others by word type
        out = tmp_path / f"out{sample}.jsonl"
        result = invoke("augment", source, "-o", out, "--augmenter", "pos", "--param", "p_pos=0.5", "--n", 30, "--tag-sample", sample, "--quiet")
        assert result.exit_code == 0, result.output
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] != outputs[1]
