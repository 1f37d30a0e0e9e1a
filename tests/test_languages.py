"""Six languages end to end (en, nl, fr, de, it, es), teacher ids for three sub-word families,
and a language with no tagger.

Per language: hand-written review sentences are tokenized and tagged with the best tagger
installed, augmented with every built-in augmenter (texts survive except for the intended
edits) and a spacy-cnn student in that language trains a few steps. Per tokenizer family
(WordPiece, SentencePiece/Unigram with ``▁``, byte-level BPE), a tiny tokenizer is trained
here (no downloads) and the directly emitted teacher ids are compared with its own output.
"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pytest

from kdtext.augment import SyntheticSet, augment_corpus
from kdtext.default_plugins.bert import teacher_ids as emission
from kdtext.default_plugins.bert.teacher_ids import emission_problem, id_agreement, teacher_ids
from kdtext.augment.builder import corpus_from_texts
from kdtext.augment.corpus import TokenizedCorpus
from kdtext.pipeline.artifacts import synthetic_of
from kdtext.data import Dataset
from kdtext.augment.tagging import best_tagger
from kdtext.labels import LabelSpace

SENTENCES = {
    "en": [
        "I loved this phone: the battery lasts two days, and the camera's great!",
        "Don't buy it. The screen cracked after a week; customer service didn't care.",
        "It's a well-made, good-looking kettle. My wife's favourite, honestly.",
        "Terrible fit — the jacket's sleeves were far too short. Returned it.",
        "Five stars! Fast delivery, café-quality espresso at home.",
        "The blender is loud, but it works. Would I buy it again? Probably not.",
    ],
    "nl": [
        "Geweldige stofzuiger! Hij zuigt goed en is 's avonds lekker stil.",
        "De batterij is na twee weken kapot. Wat een teleurstelling, zeg.",
        "Mooie schoenen, maar ze vallen klein uit. Ik heb ze 's middags teruggestuurd.",
        "Het product voldoet aan de verwachtingen; de levering was snel.",
        "Slechte kwaliteit: de rits van de jas brak meteen. Niet kopen!",
        "Prima koffiezetapparaat voor die prijs, en oma's favoriete kleur.",
    ],
    "fr": [
        "J'adore ce téléphone : l'écran est superbe et la batterie tient deux jours !",
        "Franchement déçu. L'appareil s'est arrêté au bout d'une semaine.",
        "Très bon rapport qualité-prix ; je le recommande à tous mes amis.",
        "Le service après-vente n'a jamais répondu. C'est inadmissible !",
        "À mon avis, l'aspirateur est trop bruyant, mais il aspire bien.",
        "Livraison rapide, emballage soigné. Qu'est-ce que je pourrais demander de plus ?",
    ],
    "de": [
        "Die Kaffeemaschine ist großartig! Der Milchaufschäumer funktioniert einwandfrei.",
        "Leider ist der Akku nach zwei Wochen kaputtgegangen. Sehr ärgerlich.",
        "Die Lieferung kam schnell, aber die Verpackung war beschädigt.",
        "Gute Qualität zum fairen Preis; die Bedienungsanleitung ist allerdings schlecht übersetzt.",
        "Ich würde diesen Staubsaugerroboter nicht wieder kaufen. Zu laut!",
        "Schöne Schuhe, bequem und wasserdicht. Meine Frau ist begeistert.",
    ],
    "it": [
        "Ottimo prodotto! La batteria dura tutto il giorno e l'assistenza è stata gentilissima.",
        "Il miglior acquisto dell'anno: qualità eccellente, prezzo giusto.",
        "Purtroppo lo schermo si è rotto dopo una settimana. Non lo consiglio.",
        "Spedizione veloce, ma l'imballaggio era danneggiato. Peccato.",
        "La macchina del caffè fa un espresso perfetto; sono davvero soddisfatto.",
        "Scarpe comode e belle, però la taglia è un po' piccola.",
    ],
    "es": [
        "¡Me encanta este móvil! La batería dura dos días y la cámara es genial.",
        "¿Qué más se puede pedir? Envío rápido y buena calidad.",
        "No lo recomiendo: se rompió a la semana y el servicio técnico no contestó.",
        "Las zapatillas son cómodas, pero el tamaño es un poco pequeño.",
        "¡Qué decepción! El aspirador hace muchísimo ruido.",
        "Buena relación calidad-precio; el diseño también es muy bonito.",
    ],
}
LANGS = list(SENTENCES)
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"]
#: Words that must come out of the tokenizer as they are (elisions, clitics, compounds, marks).
KEPT_TOKENS = {
    "en": ["n't", "'s", "café"],
    "nl": ["'s", "avonds"],
    "fr": ["l'", "écran", "J'", "d'"],
    "de": ["Milchaufschäumer", "Staubsaugerroboter", "ärgerlich"],
    "it": ["dell'", "anno", "l'", "è"],
    "es": ["¡", "¿", "móvil", "muchísimo"],
}
UD_TAGS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
           "SCONJ", "SYM", "VERB", "X"}  # fmt: skip
MASK = "[MASK]"


needs_brill = pytest.mark.skipif(importlib.util.find_spec("brill_postaggers") is None,
                                 reason="brill-postagger (scripts/setup.sh) tags de, it, nl")  # fmt: skip


@pytest.fixture(scope="module")
def corpora() -> dict[str, TokenizedCorpus]:
    if importlib.util.find_spec("brill_postaggers") is None:
        pytest.skip("brill-postagger (scripts/setup.sh) tags de, it, nl")
    return {lang: corpus_from_texts(texts, lang=lang, tagger="auto") for lang, texts in SENTENCES.items()}


def window_of(source: list[int], got: list[int], ok) -> bool:
    """Whether ``got`` matches a contiguous window of ``source`` position by position under ``ok(got, src, i)``."""
    return any(
        all(ok(g, s, start + j) for j, (g, s) in enumerate(zip(got, source[start : start + len(got)])))
        for start in range(len(source) - len(got) + 1)
    )


# -- tokenize, tag, augment, train -------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_tokenize_and_tag(corpora, lang):
    corpus = corpora[lang]
    assert corpus.lang == lang and corpus.tagger == best_tagger(lang) is not None
    assert [corpus.doc_text(i) for i in range(corpus.n_docs)] == SENTENCES[lang]
    assert set(KEPT_TOKENS[lang]) <= set(corpus.vocab)
    assert corpus.tagged and set(corpus.tag_names) <= UD_TAGS
    tags = {corpus.doc_tags(i)[-1] for i in range(corpus.n_docs)}
    assert tags == {"PUNCT"}  # every sentence ends with a mark


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["mask", "pos", "ngram", "tang"])
def test_nothing_asked_for_changes_nothing(corpora, lang, name):
    corpus = corpora[lang]
    params = {"mask": {"p_mask": 0.0}, "pos": {"p_pos": 0.0}, "ngram": {"n_min": 100, "n_max": 100},
              "tang": {"p_mask": 0.0, "p_pos": 0.0, "p_ng": 0.0}}[name]  # fmt: skip
    synthetic = augment_corpus(corpus, name, n=None, seed=0, unique=False, n_iter=2, **params)
    assert len(synthetic) == 2 * corpus.n_docs
    assert synthetic.texts() == [SENTENCES[lang][s] for s in synthetic.source.tolist()]


@pytest.mark.parametrize("lang", LANGS)
def test_mask_and_pos_edit_only_the_words_they_replace(corpora, lang):
    corpus = corpora[lang]
    table = corpus.pos_table()
    for name, params in (("mask", {"p_mask": 0.3, "mask_token": MASK}), ("pos", {"p_pos": 0.4})):
        synthetic = augment_corpus(corpus, name, n=60, seed=1, **params)
        assert len(synthetic) > 20
        changed = 0
        for i, text in enumerate(synthetic.texts()):
            src = int(synthetic.source[i])
            a, b = int(corpus.doc_offsets[src]), int(corpus.doc_offsets[src + 1])
            got = synthetic.words[synthetic.offsets[i] : synthetic.offsets[i + 1]].tolist()
            assert len(got) == b - a and synthetic.spaces[synthetic.offsets[i] : synthetic.offsets[i + 1]].tolist() == corpus.spaces[a:b].tolist()
            for w, orig, tag in zip(got, corpus.words[a:b].tolist(), corpus.tags[a:b].tolist()):
                if w == orig:
                    continue
                changed += 1
                if name == "mask":
                    assert synthetic.vocab[w] == MASK
                else:  # same tag, a tag of this language's tag set
                    assert w in set(table.words_of(tag).tolist()) and corpus.tag_names[tag] in UD_TAGS
            # the text is its words and spaces; putting the source words back gives the source text
            words, spaces = synthetic.words_spaces(i)
            assert text == "".join(w + " " * s for w, s in zip(words, spaces))
            back = "".join(corpus.vocab[o] + " " * s for o, s in zip(corpus.words[a:b].tolist(), spaces))
            assert back == SENTENCES[lang][src]
        assert changed > 0


@pytest.mark.parametrize("lang", LANGS)
def test_ngrams_and_sentences_are_pieces_of_their_source(corpora, lang):
    corpus = corpora[lang]
    for name in ("ngram", "sentence"):
        synthetic = augment_corpus(corpus, name, n=None, seed=2, n_iter=5)
        assert len(synthetic) > 0
        for i, text in enumerate(synthetic.texts()):
            src = int(synthetic.source[i])
            got = synthetic.words[synthetic.offsets[i] : synthetic.offsets[i + 1]].tolist()
            assert window_of(corpus.doc_word_ids(src), got, lambda g, s, _: g == s)
            assert text in SENTENCES[lang][src] and text == text.strip()
        if name == "sentence":  # every source has two sentences; each example ends with its mark
            assert all(t[-1] in ".!?" for t in synthetic.texts())


@pytest.mark.parametrize("lang", LANGS)
def test_tang_combines_the_edits(corpora, lang):
    corpus = corpora[lang]
    table = corpus.pos_table()
    synthetic = augment_corpus(corpus, "tang", n=100, seed=3, p_mask=0.2, p_pos=0.2, p_ng=0.5, mask_token=MASK)
    assert len(synthetic) == 100 and not synthetic.notes
    mask_id = synthetic.vocab.index(MASK)
    for i in range(len(synthetic)):
        src = int(synthetic.source[i])
        a = int(corpus.doc_offsets[src])
        got = synthetic.words[synthetic.offsets[i] : synthetic.offsets[i + 1]].tolist()

        def ok(g, s, j):
            return g == s or g == mask_id or g in set(table.words_of(int(corpus.tags[a + j])).tolist())

        assert window_of(corpus.doc_word_ids(src), got, ok)


@pytest.mark.parametrize("lang", LANGS)
def test_student_trains_in_the_language(corpora, lang):
    from kdtext.students import build_student

    space = LabelSpace(("neg", "pos"))
    train = Dataset.from_labels(SENTENCES[lang], LABELS, space)
    synthetic = augment_corpus(corpora[lang], "tang", n=24, seed=0, mask_token=MASK)
    probs = np.tile(np.asarray([[0.3, 0.7]], np.float32), (len(synthetic), 1))
    transfer = synthetic.to_dataset(probs, space)
    student = build_student("spacy-cnn", lang=lang, width=8, depth=1, embed_size=50, bow_length=512,
                            max_steps=3, batch_size=4, progress=False)  # fmt: skip
    figures = student.fit(train, train, transfer, seed=0)
    assert figures["steps"] == 3 and figures["n_transfer"] == len(synthetic)
    assert student.nlp.lang == lang
    out = student.predict_proba(SENTENCES[lang][:2])
    assert out.shape == (2, 2) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


# -- teacher ids for three tokenizer families -------------------------------------------------


def training_texts(n: int = 300, seed: int = 0) -> list[str]:
    """The review sentences plus ``n`` random sentences made of their words, all six languages."""
    rng = random.Random(seed)
    words = {lang: [w for s in texts for w in s.split()] for lang, texts in SENTENCES.items()}
    made = [" ".join(rng.choice(words[LANGS[i % 6]]) for _ in range(rng.randint(4, 14))) for i in range(n)]
    return [s for texts in SENTENCES.values() for s in texts] + made


def wordpiece_tokenizer(texts: list[str]):
    """Multilingual-BERT style: WordPiece, BertNormalizer (cased), [CLS] $A [SEP]."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", MASK], show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )  # fmt: skip
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                   pad_token="[PAD]", mask_token=MASK)  # fmt: skip


def _roberta_specials(tokenizer_cls, tok):
    from tokenizers import AddedToken

    # XLM-R and RoBERTa give <mask> lstrip: it takes the space before it
    return tokenizer_cls(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                         unk_token="<unk>", pad_token="<pad>", mask_token=AddedToken("<mask>", lstrip=True, special=True))  # fmt: skip


SPM_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def unigram_tokenizer(texts: list[str], split: bool = True):
    """XLM-R style: Unigram, NFKC, WhitespaceSplit + Metaspace ``▁`` (prepended), <s> $A </s>."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    metaspace = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=split)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), metaspace]) if split else metaspace
    tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=500, special_tokens=SPM_SPECIALS, unk_token="<unk>", show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )  # fmt: skip
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=split)
    return _roberta_specials(PreTrainedTokenizerFast, tok)


def byte_bpe_tokenizer(texts: list[str], add_prefix_space: bool = False):
    """RoBERTa style: byte-level BPE, ByteLevel pre-tokenizer, RobertaProcessing <s> $A </s>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=700, special_tokens=SPM_SPECIALS,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))  # fmt: skip
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=add_prefix_space)  # fmt: skip
    tok.decoder = decoders.ByteLevel()
    return _roberta_specials(PreTrainedTokenizerFast, tok)


FAMILIES = {
    "wordpiece": wordpiece_tokenizer,
    "unigram-metaspace": unigram_tokenizer,
    "byte-level-bpe": byte_bpe_tokenizer,  # add_prefix_space=False, as roberta-base
    "byte-level-bpe-prefix-space": lambda texts: byte_bpe_tokenizer(texts, add_prefix_space=True),
}


def synthetic_sets(corpora, mask_token: str) -> list[SyntheticSet]:
    """Examples of every augmenter from all six languages, masks in the tokenizer's own token."""
    sets = []
    for lang in LANGS:
        for name, params in (("mask", {"p_mask": 0.3, "mask_token": mask_token}), ("pos", {"p_pos": 0.3}),
                             ("ngram", {}), ("sentence", {}), ("tang", {"p_mask": 0.2, "mask_token": mask_token})):  # fmt: skip
            sets.append(augment_corpus(corpora[lang], name, n=120, seed=4, **params))
    return sets


@pytest.mark.parametrize("family", list(FAMILIES))
def test_teacher_ids_agree_for_each_tokenizer_family(corpora, family):
    tokenizer = FAMILIES[family](training_texts())
    assert emission_problem(tokenizer) is None  # the fast, direct path
    n = agree = 0
    for synthetic in synthetic_sets(corpora, tokenizer.mask_token):
        result = id_agreement(synthetic, tokenizer)
        n, agree = n + result.n, agree + result.agree
        assert result.rate >= 0.99, (family, result.mismatches)
    print(f"\nteacher-id agreement, {family}: {agree:,}/{n:,} examples identical ({100 * agree / n:.2f}%)")
    assert n > 1500 and agree / n >= 0.99
    sample = synthetic_sets(corpora, tokenizer.mask_token)[-1]  # tang: masks glued to elisions and marks
    assert teacher_ids(sample, tokenizer).tolist() == [list(ids) for ids in tokenizer(sample.texts())["input_ids"]]


def test_a_family_the_emitter_cannot_handle_is_retokenized_with_one_warning(corpora):
    tokenizer = unigram_tokenizer(training_texts(), split=False)  # SentencePiece without cutting at spaces
    reason = emission_problem(tokenizer)
    assert reason is not None and "Metaspace(split=False)" in reason
    sets = synthetic_sets(corpora, tokenizer.mask_token)[:10]
    emission._warned.clear()
    with pytest.warns(UserWarning, match="re-tokenizing") as caught:
        results = [id_agreement(s, tokenizer) for s in sets]
    assert sum("re-tokenizing" in str(w.message) for w in caught) == 1
    assert all(r.rate == 1.0 for r in results)


# -- a language spaCy tokenizes but no tagger covers ------------------------------------------


SWEDISH = [
    ("Fantastisk dammsugare, den är tyst och stark!", "pos"),
    ("Batteriet gick sönder efter två veckor. Mycket dåligt.", "neg"),
    ("Snabb leverans och bra kvalitet. Jag rekommenderar den.", "pos"),
    ("Skorna var för små och kändes billiga.", "neg"),
]


def test_a_run_in_a_language_without_a_tagger_turns_pos_swaps_off_with_a_note(tmp_path, capsys):
    from kdtext.pipeline import load_config
    from kdtext.pipeline.recipe import STAGES
    from kdtext.pipeline.runner import Runner, Stage

    assert best_tagger("sv") is None
    for split in ("train", "dev", "test"):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps({"text": t, "label": l}, ensure_ascii=False) + "\n" for t, l in SWEDISH),
                                                 encoding="utf-8")  # fmt: skip
    config = load_config(None, {
        **{split: str(tmp_path / f"{split}.jsonl") for split in ("train", "dev", "test")},
        "lang": "sv", "n_synthetic": 40, "teacher_model": "not-loaded",
    })  # fmt: skip
    by_name = {stage.name: stage for stage in STAGES}
    # the teacher stage would finetune a model; here it only hands its mask token on
    teacher = Stage("teacher", "teacher (mask token only)", lambda ctx: {"mask_token": MASK}, depends=("data",))
    runner = Runner(config, tmp_path / "run", [by_name["data"], teacher, by_name["corpus"], by_name["augment"]])
    runner.run()
    log = capsys.readouterr().err
    stages = runner.manifest["stages"]
    assert stages["corpus"]["summary"]["tagged"] is False
    assert "no POS tagger for 'sv'" in log
    augment = stages["augment"]["summary"]
    assert augment["n_synthetic"] == 40
    assert any("same-POS replacement is off" in note for note in augment["notes"])
    synthetic = synthetic_of(Path(runner.run_dir))
    originals = [t for t, _ in SWEDISH]
    assert all(text not in originals for text in synthetic.texts())
    assert any(MASK in text for text in synthetic.texts())


def test_a_language_spacy_cannot_tokenize_fails_before_any_work(tmp_path):
    from kdtext.errors import ConfigError
    from kdtext.pipeline import load_config
    from kdtext.pipeline.recipe import check_plugins

    with pytest.raises(ConfigError, match="unknown language 'zz'"):
        check_plugins(load_config(None, {"data": "demo", "lang": "zz"}))
    check_plugins(load_config(None, {"data": "demo", "lang": "sv"}))


@needs_brill
def test_taggers_command_covers_the_six_languages_and_says_what_happens_elsewhere():
    from click.testing import CliRunner

    from kdtext.cli import cli

    result = CliRunner().invoke(cli, ["taggers"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.splitlines() if line.startswith("  ")}
    assert set(LANGS) <= listed and "sv" not in listed
    assert "no tagger; `pos` is unavailable" in result.output
