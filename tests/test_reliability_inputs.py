"""Hostile input files: every problem is one line naming file and line, never a traceback.

Covers bad JSON/CSV on a given line, wrong encodings (Latin-1, UTF-16), BOMs, CRLF,
10 MB texts, empty files, mixed label types, whitespace/emoji/right-to-left texts, and
1 million short texts read with bounded memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kdtext.cli import cli
from kdtext.data import iter_records, read_labelled, read_soft_labels, read_texts
from kdtext.errors import DataError
from kdtext.io import write_jsonl
from kdtext.labels import LabelSpace

GOOD = [("good fun film", "pos"), ("awful dull plot", "neg"), ("great cast", "pos"), ("poor story", "neg")]
BIG = "word " * 2_000_000  # 10 MB of text in one line


def _jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _good_jsonl() -> str:
    return _jsonl({"text": t, "label": l} for t, l in GOOD)


def _run(tmp_path: Path, **files: Path):
    """``kdtext run`` on good train/dev/test files, with some replaced; nothing should start."""
    args = ["run", "--teacher-model", str(tmp_path / "no-teacher"), "-o", str(tmp_path / "run")]
    for name in ("train", "dev", "test"):
        path = files.get(name)
        if path is None:
            path = tmp_path / f"good-{name}.jsonl"
            path.write_text(_good_jsonl(), encoding="utf-8")
        args += [f"--{name}", str(path)]
    if "unlabeled" in files:
        args += ["--unlabeled", str(files["unlabeled"])]
    return CliRunner().invoke(cli, args)


def _assert_one_line_error(result, where: str, message: str, run_dir: Path) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output[:500]
    assert where in result.output and message in result.output, result.output[:500]
    assert not run_dir.exists()  # validated before any work


BAD_TRAIN = [
    # name, file name, content (str: UTF-8, bytes: raw), expected "file:line", expected message
    ("bad json", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": "pos"\n', "train.jsonl:5", "invalid JSON"),
    ("not an object", "train.jsonl", _good_jsonl() + '["ok", "pos"]\n', "train.jsonl:5", "expected a JSON object"),
    ("latin-1", "train.jsonl", _good_jsonl().encode() + '{"text": "café", "label": "pos"}\n'.encode("latin-1"),
     "train.jsonl:5", "not valid UTF-8 (byte 0xe9"),
    ("utf-16", "train.jsonl", _good_jsonl().encode("utf-16"), "train.jsonl:1", "UTF-16"),
    ("utf-16 csv", "train.csv", "text,label\ngood,pos\nbad,neg\n".encode("utf-16"), "train.csv:1", "UTF-16"),
    ("deep nesting", "train.jsonl", _good_jsonl() + '{"text": ' + "[" * 200_000 + "\n", "train.jsonl:5", "nested too deeply"),
    ("huge integer", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": ' + "9" * 5000 + "}\n", "train.jsonl:5",
     "invalid JSON"),
    ("lone surrogate", "train.jsonl", _good_jsonl() + '{"text": "bad \\ud800 text", "label": "pos"}\n', "train.jsonl:5",
     "surrogate"),
    ("whitespace text", "train.jsonl", _good_jsonl() + '{"text": " \\t\\u3000\\n ", "label": "pos"}\n', "train.jsonl:5",
     "empty 'text'"),
    ("float label", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": 1.5}\n', "train.jsonl:5", "'label' must be"),
    ("null label", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": null}\n', "train.jsonl:5", "'label' must be"),
    ("bool label", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": true}\n', "train.jsonl:5", "'label' must be"),
    ("NaN label", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": NaN}\n', "train.jsonl:5", "'label' must be"),
    ("empty label in list", "train.jsonl", _good_jsonl() + '{"text": "ok", "label": ["pos", " "]}\n', "train.jsonl:5",
     "empty label"),
    ("number text", "train.jsonl", _good_jsonl() + '{"text": 12, "label": "pos"}\n', "train.jsonl:5", "must be a string"),
    ("empty file", "train.jsonl", "", "train.jsonl", "no examples in the file"),
    ("blank lines only", "train.jsonl", "\n\r\n  \n", "train.jsonl", "no examples in the file"),
    ("empty csv", "train.csv", "", "train.csv", "no examples in the file"),
    ("header-only csv", "train.csv", "text,label\r\n", "train.csv", "no examples in the file"),
    ("csv columns", "train.csv", "text,label\ngood,pos\nbad,neg,extra\n", "train.csv:3", "expected 2 columns"),
    ("csv bad list", "train.csv", 'text,label\ngood,pos\nbad,"[neg"\n', "train.csv:3", "not valid JSON"),
    ("csv missing column", "train.csv", "txt,label\ngood,pos\n", "train.csv:2", "missing 'text'"),
    ("10 MB text", "train.jsonl", _good_jsonl() + json.dumps({"text": BIG, "label": "pos"}) + "\n", "train.jsonl:5",
     "over the limit"),
]  # fmt: skip


@pytest.mark.parametrize("name, filename, content, where, message", BAD_TRAIN, ids=[c[0] for c in BAD_TRAIN])
def test_bad_training_file_is_one_line_naming_file_and_line(tmp_path, name, filename, content, where, message):
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    _assert_one_line_error(_run(tmp_path, train=path), where, message, tmp_path / "run")


def test_bad_line_in_dev_test_and_pool_names_that_file(tmp_path):
    dev = tmp_path / "dev.jsonl"
    dev.write_text(_good_jsonl() + '{"text": "ok", "label": "maybe"}\n', encoding="utf-8")
    _assert_one_line_error(_run(tmp_path, dev=dev), "dev.jsonl:5", "label 'maybe' is not among", tmp_path / "run")
    test = tmp_path / "test.jsonl"
    test.write_bytes(_good_jsonl().encode() + b'{"text": "\xff\xfe", "label": "pos"}\n')
    _assert_one_line_error(_run(tmp_path, test=test), "test.jsonl:5", "not valid UTF-8", tmp_path / "run")
    pool = tmp_path / "pool.jsonl"  # the 10 MB text is on line 4, after a blank line
    pool.write_text('{"text": "a"}\n\n{"text": "b"}\n' + json.dumps({"text": BIG}) + "\n", encoding="utf-8")
    _assert_one_line_error(_run(tmp_path, unlabeled=pool), "pool.jsonl:4", "over the limit", tmp_path / "run")


# -- what must be accepted -------------------------------------------------------------------


def test_bom_and_crlf_are_accepted_in_jsonl_and_csv(tmp_path):
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + _good_jsonl().replace("\n", "\r\n").encode())
    csv_file = tmp_path / "bom.csv"
    csv_file.write_bytes(b"\xef\xbb\xbftext,label\r\n" + b"".join(f'"{t}",{l}\r\n'.encode() for t, l in GOOD))
    tsv = tmp_path / "bom.tsv"
    tsv.write_bytes(b"\xef\xbb\xbftext\tlabel\r\n" + b"".join(f"{t}\t{l}\r\n".encode() for t, l in GOOD))
    for path in (jsonl, csv_file, tsv):
        ds = read_labelled(path)
        assert ds.texts == [t for t, _ in GOOD], path
        assert ds.gold_labels() == [l for _, l in GOOD]
        assert ds.lines == [2, 3, 4, 5] if path.suffix != ".jsonl" else ds.lines == [1, 2, 3, 4]


def test_multiline_csv_cell_keeps_its_newline_and_reports_the_right_line(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('text,label\n"two\nlines",pos\nbad,neg,x\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"multi.csv:4: expected 2 columns"):
        read_labelled(path)
    path.write_text('text,label\n"two\r\nlines",pos\nbad,neg\n', encoding="utf-8", newline="")
    assert read_labelled(path).texts == ["two\r\nlines", "bad"]


def test_unterminated_csv_quote_is_an_error_on_a_line(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('text,label\ngood,pos\n"never closed,neg\nmore,pos\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"quote.csv:\d+: "):
        read_labelled(path)


def test_mixed_label_types_int_and_string_are_one_label(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text(_jsonl([{"text": "a", "label": 1}, {"text": "b", "label": "0"}, {"text": "c", "label": "1"},
                             {"text": "d", "label": 0}]), encoding="utf-8")  # fmt: skip
    ds = read_labelled(train)
    assert ds.label_space.labels == ("0", "1") and ds.gold_labels() == ["1", "0", "1", "0"]
    multi = tmp_path / "multi.jsonl"
    multi.write_text(_jsonl([{"text": "a", "label": [1, "x"]}, {"text": "b", "label": []}, {"text": "c", "label": "x"}]))
    assert read_labelled(multi).gold_labels() == [("1", "x"), (), ("x",)]


UNUSUAL = [
    "😀😀😀 🎉",
    "🇫🇷👩‍👩‍👧‍👦",
    "هذا الفيلم رائع جدا",
    "הסרט הזה היה נהדר",
    "mixed עברית and English العربية 123",
    "\u200f\u200e right-to-left marks",
    "tab\tseparated\u00a0nbsp",
    "zero\u200bwidth",
]


def test_emoji_and_right_to_left_texts_round_trip(tmp_path):
    path = tmp_path / "unusual.jsonl"
    labels = ["pos", "neg"] * (len(UNUSUAL) // 2)
    write_jsonl(path, ({"text": t, "label": l} for t, l in zip(UNUSUAL, labels)))
    ds = read_labelled(path)
    assert ds.texts == UNUSUAL
    out = tmp_path / "copy.jsonl"
    write_jsonl(out, ({"text": t, "label": l} for t, l in zip(ds.texts, ds.gold_labels())))
    assert read_labelled(out, ds.label_space).texts == UNUSUAL
    soft = tmp_path / "soft.jsonl"
    write_jsonl(soft, ({"text": t, "probs": {"neg": 0.25, "pos": 0.75}} for t in UNUSUAL))
    assert read_soft_labels(soft, LabelSpace(("neg", "pos"))).texts == UNUSUAL


def test_augment_cli_on_emoji_rtl_and_whitespace_texts(tmp_path):
    path = tmp_path / "texts.jsonl"
    texts = UNUSUAL + ["   ", "\t\n", "one"]
    path.write_text(_jsonl({"text": t} for t in texts), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["augment", str(path), "-o", str(out), "--n", "40", "--quiet", "--augmenter", "mask"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["text"].strip() for r in rows)
    assert {r["source"] for r in rows} <= set(range(len(UNUSUAL)))  # whitespace and one-token texts give nothing


def test_augment_cli_bad_inputs_are_one_line(tmp_path):
    cases = [
        (b'{"text": "fine"}\n' + json.dumps({"text": BIG}).encode() + b"\n", "texts.jsonl:2", "over the limit"),
        (b'{"text": "fine"}\n{"text": "caf\xe9"}\n', "texts.jsonl:2", "not valid UTF-8"),
        ('{"text": "fine"}\n'.encode("utf-16"), "texts.jsonl:1", "UTF-16"),
        (b'{"text": "fine"}\n{"text": "fine"\n', "texts.jsonl:2", "invalid JSON"),
        (b"", "texts.jsonl", "no texts"),
    ]
    for content, where, message in cases:
        path = tmp_path / "texts.jsonl"
        path.write_bytes(content)
        result = CliRunner().invoke(cli, ["augment", str(path), "-o", str(tmp_path / "out.jsonl"), "--quiet"])
        assert result.exit_code == 1, (message, result.output[:300])
        assert result.output.count("\n") == 1 and where in result.output and message in result.output, result.output[:300]
        assert not (tmp_path / "out.jsonl").exists()


def test_ten_megabyte_text_is_read_whole(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "small"}\n' + json.dumps({"text": BIG}) + "\n", encoding="utf-8")
    texts = read_texts(path)
    assert texts[1] == BIG and len(texts) == 2


# -- a million short texts, streamed with bounded memory --------------------------------------

MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from kdtext.data import iter_records, read_texts

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    path = sys.argv[1]
    base = peak_mb()
    n = sum(1 for _ in iter_records(path))
    streamed = peak_mb()
    texts = read_texts(path)
    loaded = peak_mb()
    print(json.dumps({"n": n, "n_texts": len(texts), "base": base, "streamed": streamed, "loaded": loaded}))
    """
)


@pytest.mark.slow
def test_a_million_short_texts_stream_with_bounded_memory(tmp_path):
    path = tmp_path / "million.jsonl"
    n = 1_000_000
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(f'{{"text": "short text number {i}", "label": "x"}}\n')
    size_mb = path.stat().st_size / 2**20
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)], capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout)
    assert figures["n"] == figures["n_texts"] == n
    # streaming holds one line at a time: a few MB at most, whatever the file's size
    assert figures["streamed"] - figures["base"] < 16, figures
    # the texts themselves (about 75 bytes of Python object per short str) and nothing twice
    assert figures["loaded"] - figures["base"] < 3 * size_mb + 64, (figures, size_mb)
