"""kdtext's augmenters inside other pipelines, with no glue code.

- :mod:`kdtext.integrations.spacy_augmenters`: spaCy training configs
  (``[corpora.train.augmenter]``, ``@augmenters = "kdtext.tang.v1"``), registered through
  the ``spacy_augmenters`` entry points, so spaCy finds them without importing kdtext;
- :mod:`kdtext.integrations.hf_datasets`: the function for Hugging Face
  ``Dataset.map(fn, batched=True)``, streaming datasets included;
- :mod:`kdtext.integrations.streams`: a generator over any iterable of texts or rows.

All three augment batch by batch with each text keyed by its content
(:mod:`kdtext.integrations.batches`). This package imports nothing heavy: each module
imports spaCy, ``datasets`` or a tokenizer only when it runs.
"""
