"""The Ray engine on a local Ray instance: same results as the local engine, lost workers retried.

One Ray instance (2 CPUs) serves the whole module; each labelling job starts two actors
that load the tiny teacher, so the module takes a few seconds per job.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytest.importorskip("pyarrow")

from click.testing import CliRunner  # noqa: E402

from kdtext.augment import SyntheticSet, make_augmenter  # noqa: E402
from kdtext.cli import cli  # noqa: E402
from kdtext.augment.builder import corpus_from_texts  # noqa: E402
from kdtext.augment.corpus import TokenizedCorpus  # noqa: E402
from kdtext.labelling.engine import get_engine  # noqa: E402
from kdtext.labelling.engine.ray_engine import augment_on_ray  # noqa: E402
from kdtext.labelling.engine.ray_labelling import TeacherActor, label_on_ray  # noqa: E402
from kdtext.errors import KdtextError  # noqa: E402
from kdtext.default_plugins.bert.teacher import BertTeacher  # noqa: E402

from contract_fixtures import PriorStudent  # noqa: E402
from teacher_fixtures import binary_data, sentiment_data, tiny_bert_dir, trained_dir, varied_texts  # noqa: E402,F401

# The actor subclass below lives in this test module, which Ray's workers cannot import:
# ship it by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus() -> TokenizedCorpus:
    texts = sentiment_data(400, seed=3).texts + ["", "one", "Two sentences here. And another one!"]
    return corpus_from_texts(texts, lang="en")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    # varied lengths (bucketing) and repeats (each distinct input is labelled once)
    base = varied_texts(300, seed=4)
    return base + base[:40]


@pytest.fixture
def loaded(trained_dir) -> BertTeacher:
    return BertTeacher.load(trained_dir, device="cpu", num_threads=1)


# -- augmentation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name, n, params", [("tang", 1500, {"n_iter": 5}), ("mask", 10_000, {"n_iter": 3}), ("ngram", None, {"n_iter": 2})])
def test_augment_on_ray_equals_local_for_1_and_4_shards(corpus, name, n, params):
    augmenter = make_augmenter(name, **params)
    local = augmenter.augment(corpus, n, seed=7)
    assert len(local) > 100
    for shards in (1, 4):
        synthetic, figures = augment_on_ray(corpus, augmenter, n, seed=7, shards=shards)
        assert synthetic.texts() == local.texts()
        assert np.array_equal(synthetic.source, local.source) and np.array_equal(synthetic.rounds, local.rounds)
        assert synthetic.notes == local.notes and synthetic.skipped == local.skipped
        assert figures["shards"] == shards and 1 <= figures["workers"] <= 2
        assert sum(entry["examples"] for entry in figures["per_worker"].values()) >= len(local)


def test_engine_objects_augment_like_local(corpus):
    augmenter = make_augmenter("tang", n_iter=3)
    synthetic, figures = get_engine("ray", shards=3).augment(corpus, augmenter, 800, seed=1)
    local, local_figures = get_engine("local").augment(corpus, augmenter, 800, seed=1)
    assert synthetic.texts() == local.texts() and figures["engine"] == "ray" and local_figures["engine"] == "local"
    assert isinstance(synthetic, SyntheticSet)


# -- labelling --------------------------------------------------------------------------------


def test_label_on_ray_equals_local_in_input_order(loaded, trained_dir, texts, tmp_path):
    local = loaded.label(texts, progress=False)
    result, figures = label_on_ray(loaded, texts, model_path=trained_dir, cache_dir=tmp_path / "cache", block_rows=40)
    np.testing.assert_allclose(result.probs, local.probs, atol=1e-5)
    assert result.probs.shape == (len(texts), 2) and np.argmax(result.probs, 1).tolist() == np.argmax(local.probs, 1).tolist()
    distinct = len(set(texts))
    assert figures["distinct"] == figures["rows_returned"] == distinct and figures["blocks"] == -(-distinct // 40)
    assert result.n_computed == distinct and result.n_cached == 0 and figures["workers"] == 2
    assert sum(w["examples"] for w in figures["per_worker"].values()) == distinct
    assert all(w["examples_per_second"] > 0 for w in figures["per_worker"].values())
    # pre-tokenized ids give the same labels; a second run is served by the shared cache
    ids = [loaded.tokenizer(t)["input_ids"] for t in texts]
    again, figures = label_on_ray(loaded, ids=ids, model_path=trained_dir, cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(again.probs, local.probs, atol=1e-5)
    assert again.n_computed == 0 and again.n_cached == len(texts) and figures["computed"] == 0


def test_representations_on_ray_are_the_local_ones_in_input_order(loaded, trained_dir, texts, tmp_path):
    local = loaded.label(texts, backend="torch", representations=True, progress=False)
    result, _ = label_on_ray(loaded, texts, model_path=trained_dir, backend="torch", representations=True, block_rows=80)
    assert result.representations.dtype == np.float16 and result.representations.shape == local.representations.shape
    np.testing.assert_allclose(result.representations.astype(np.float32), local.representations.astype(np.float32), atol=2e-3)


def test_rerun_labels_only_what_the_cache_lacks(loaded, trained_dir, texts, tmp_path):
    cache = tmp_path / "cache"
    loaded.label(texts[:120], cache_dir=cache, progress=False)  # what finished before a job was lost
    result, figures = label_on_ray(loaded, texts, model_path=trained_dir, cache_dir=cache)
    done = set(texts[:120])
    assert result.n_computed == figures["computed"] == len(set(texts) - done)
    assert result.n_cached == sum(text in done for text in texts)  # repeats of cached texts included
    np.testing.assert_allclose(result.probs, loaded.label(texts, progress=False).probs, atol=1e-5)


class CrashOnce(TeacherActor):
    """Kills its own process on its first block, once per job (a marker file remembers)."""

    def __init__(self, *args, marker: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.marker = Path(marker)

    def __call__(self, batch):
        if not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().__call__(batch)


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_duplicated(loaded, trained_dir, texts, tmp_path):
    marker = tmp_path / "crashed"
    # the constructor kwargs travel with the actor; bind the marker path in a subclass
    cls = type("CrashHere", (CrashOnce,), {"__init__": lambda self, *a, **k: CrashOnce.__init__(self, *a, marker=str(marker), **k)})
    result, figures = label_on_ray(loaded, texts, model_path=trained_dir, cache_dir=tmp_path / "cache", block_rows=25, actor_cls=cls, max_restarts=2)
    assert marker.exists(), "the actor did not crash"
    np.testing.assert_allclose(result.probs, loaded.label(texts, progress=False).probs, atol=1e-5)
    assert figures["rows_returned"] == figures["distinct"] == len(set(texts))
    assert figures["actors_lost"] == 1 and figures["blocks_retried"] >= 1 and figures["actors_started"] == figures["workers"] + 1


class CrashAlways(TeacherActor):
    def __call__(self, batch):
        os._exit(1)


def test_an_actor_that_always_dies_fails_the_job_with_one_line(loaded, trained_dir, texts):
    with pytest.raises(KdtextError, match=r"labelling on Ray failed: a block of \d+ examples was lost with its worker 2 times") as caught:
        label_on_ray(loaded, texts, model_path=trained_dir, block_rows=100, actor_cls=CrashAlways, max_restarts=1, workers=1)
    assert "\n" not in str(caught.value)  # Ray's message carries a whole traceback: the first line only


def test_actors_that_cannot_start_fail_the_job_instead_of_waiting_for_ever(loaded, trained_dir, texts):
    with pytest.raises(KdtextError, match=r"no labelling actor could start for 3 s \(each needs \{'num_cpus': 64\}"):
        label_on_ray(loaded, texts, model_path=trained_dir, cpus_per_worker=64, workers=1, start_timeout=3)


# -- commands ---------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_augment_command_ray_gives_the_local_file(tmp_path):
    source = _write_jsonl(tmp_path / "in.jsonl", ({"text": t} for t in sentiment_data(120, seed=2).texts))
    runner = CliRunner()
    local = runner.invoke(cli, ["augment", str(source), "-o", str(tmp_path / "local.jsonl"), "--n", "500", "--seed", "3", "--quiet"])
    assert local.exit_code == 0, local.output
    on_ray = runner.invoke(cli, ["augment", str(source), "-o", str(tmp_path / "ray.jsonl"), "--n", "500", "--seed", "3", "--engine", "ray"])
    assert on_ray.exit_code == 0, on_ray.output
    assert "engine ray" in on_ray.output
    assert (tmp_path / "ray.jsonl").read_text() == (tmp_path / "local.jsonl").read_text()
    wrong = runner.invoke(cli, ["augment", str(source), "-o", str(tmp_path / "x.jsonl"), "--ray-address", "auto"])
    assert wrong.exit_code != 0 and "--ray-address needs --engine ray" in wrong.output


def test_label_command_ray_writes_parquet_shards_with_a_manifest(trained_dir, loaded, texts, tmp_path):
    import pyarrow.parquet as pq

    source = _write_jsonl(tmp_path / "in.jsonl", ({"text": t} for t in texts))
    out = tmp_path / "soft"
    result = CliRunner().invoke(
        cli, ["label", str(source), "-o", str(out), "--model", str(trained_dir), "--engine", "ray", "--cache", str(tmp_path / "c"), "--no-progress", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["engine"]["workers"] == 2 and summary["examples"] == len(texts) and summary["shards"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["examples"] == len(texts) and manifest["labels"] == ["neg", "pos"]
    table = pq.read_table(out / manifest["files"][0]["path"]).to_pylist()
    assert [row["text"] for row in table] == texts
    probs = np.asarray([[row["probs"]["neg"], row["probs"]["pos"]] for row in table])
    np.testing.assert_allclose(probs, loaded.label(texts, progress=False).probs, atol=1e-5)


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    from kdtext.pipeline import load_config
    from kdtext.pipeline.recipe import check_plugins

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(KdtextError, match=r"pip install 'kdtext\[ray\]'"):
        get_engine("ray")
    monkeypatch.setattr("kdtext.labelling.engine.ray_available", lambda: False)
    with pytest.raises(KdtextError, match=r"kdtext\[ray\]"):
        check_plugins(load_config(None, {"data": "demo", "engine": "ray"}))


# -- a third-party teacher scales out as the built-in one does --------------------------------

import kdtext  # noqa: E402


class WordCountTeacher(kdtext.Teacher):
    """A teacher from outside kdtext: no label(), no tokenizer, only the contract.

    P(pos) grows with the number of words, scaled by ``slope``, which only ``load``
    restores: a worker that did not load the saved teacher would give other numbers.
    """

    name = "wordcount"
    trainable = False
    defaults = {"slope": 0.0}

    def fit(self, train, dev=None):
        self.label_space = train.label_space
        self.slope = 0.05
        return {}

    def predict_proba(self, texts):
        pos = np.clip(0.2 + self.slope * np.array([len(t.split()) for t in texts], np.float32), 0.0, 1.0)
        return np.stack([1.0 - pos, pos], axis=1).astype(np.float32)

    def save(self, path):
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "teacher.json").write_text(json.dumps({"labels": self.label_space.to_json(), "slope": self.slope, "pid": os.getpid()}))

    @classmethod
    def load(cls, path):
        from kdtext.labels import LabelSpace

        saved = json.loads((Path(path) / "teacher.json").read_text())
        teacher = cls()
        teacher.label_space, teacher.slope = LabelSpace.from_json(saved["labels"]), saved["slope"]
        return teacher


class FirstWordsAugmenter(kdtext.Augmenter):
    """Keeps the first half of each text (a plugin augmenter: one Ray task on the whole corpus)."""

    def augment(self, corpus, n, *, seed=0):
        examples = [corpus.doc_word_ids(i)[: max(1, len(corpus.doc_word_ids(i)) // 2)] for i in range(corpus.n_docs)]
        examples = examples[:n] if n is not None else examples
        return SyntheticSet.from_word_ids(corpus, examples, sources=range(len(examples)), augmenter="first-words")


class ThirdParty:
    @kdtext.hookimpl
    def register_teachers(self, register):
        register("wordcount", WordCountTeacher)

    @kdtext.hookimpl
    def register_augmenters(self, register):
        register("first-words", FirstWordsAugmenter)

    @kdtext.hookimpl
    def register_students(self, register):
        register("prior", PriorStudent)


def test_run_with_a_third_party_teacher_labels_on_ray_like_locally(register_plugin, tmp_path):
    register_plugin(ThirdParty(), "third-party", distribution=("kdtext-third-party", "0.1"))
    files = {}
    for split, n, seed in (("train", 40, 0), ("dev", 10, 1), ("test", 10, 2)):
        ds = sentiment_data(n, seed=seed)
        files[split] = str(_write_jsonl(tmp_path / f"{split}.jsonl", ({"text": t, "label": l} for t, l in zip(ds.texts, ds.gold_labels()))))
    pool = _write_jsonl(tmp_path / "pool.jsonl", ({"text": t} for t in sentiment_data(15, seed=5).texts))

    def run(engine: str):
        args = ["run", "--train", files["train"], "--dev", files["dev"], "--test", files["test"], "--unlabeled", str(pool),
                "--teacher", "wordcount", "--augmenter", "first-words", "--student", "prior", "--n-synthetic", "30",
                "--teacher-vectors", "0", "--engine", engine, "-o", str(tmp_path / engine), "--json"]  # fmt: skip
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output[result.output.index("{") :])

    on_ray, local = run("ray"), run("local")
    assert on_ray["labelling"]["engine"]["name"] == "ray"
    (figures,) = [r for r in on_ray["labelling"]["engine"]["runs"] if r["examples"] == on_ray["augment"]["n_synthetic"]]
    assert figures["engine"] == "ray" and figures["rows_returned"] == figures["distinct"] > 0
    workers = {name.rsplit(":", 1)[1] for name in figures["per_worker"]}
    assert str(os.getpid()) not in workers  # labelled by Ray's actors, each with the teacher it loaded
    probs_ray, probs_local = np.load(tmp_path / "ray" / "label" / "probs.npy"), np.load(tmp_path / "local" / "label" / "probs.npy")
    assert probs_ray.shape == (on_ray["n_transfer"], 2) and probs_ray.shape == probs_local.shape
    np.testing.assert_allclose(probs_ray, probs_local, atol=1e-6)
    assert len(np.unique(probs_ray[:, 1])) > 3  # the loaded slope, not the default 0
