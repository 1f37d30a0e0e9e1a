"""An augmenter that reverses the word order of each source text."""

import kdtext
from kdtext.augment import SyntheticSet


class Reverse(kdtext.Augmenter):
    """Reverse the word order of each text (a deliberately simple example)."""

    name = "reverse"
    defaults = {}

    def augment(self, corpus, n, *, seed=0):
        examples = [list(reversed(corpus.doc_word_ids(i))) for i in range(min(n, corpus.n_docs))]
        return SyntheticSet.from_word_ids(corpus, examples, sources=range(len(examples)), augmenter=self.name)


@kdtext.hookimpl
def register_augmenters(register):
    register("reverse", Reverse)
