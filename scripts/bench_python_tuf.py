"""python-tuf's client path over a root chain, as one process: TrustedMetadataSet with the first
file as trusted root, then update_root() with each next file in version order (what
tuf.ngclient.Updater does while it walks a root history). Used by scripts/bench-peers."""

import pathlib
import sys

from tuf.api.metadata import Root
from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
from tuf.ngclient.config import EnvelopeType


def main() -> int:
    folder = pathlib.Path(sys.argv[1])
    files = sorted(folder.glob("*.root.json"), key=lambda p: int(p.name.split(".")[0]))
    trusted = TrustedMetadataSet(files[0].read_bytes(), EnvelopeType.METADATA)
    for f in files[1:]:
        trusted.update_root(f.read_bytes())
    root: Root = trusted.root
    print(f"python-tuf: root version {root.version} trusted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
