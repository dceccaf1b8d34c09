"""`buf breaking` of protos/ against an older commit, whatever either side's buf layout.

    python scripts/buf_breaking.py '../.git#ref=HEAD~1,subdir=protos'

buf compares a workspace module by module and refuses inputs with different module counts
("input contained 2 images, whereas against contained 1"): the two-module workspace of
protos/buf.yaml against a commit from before it would always fail. Both sides are therefore built
into one image each and compared file by file with the current rules (protos/buf.yaml).

One normalisation of the older side: the per-language file options (go_package, java_package,
java_multiple_files, csharp_namespace) that a file did not set yet are taken from the current
file, so adding them where there were none is not reported (there was no Go, Java or C# package
to break). A value that changes from one set value to another is still a break.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
BUF = ROOT / "dashboard" / "node_modules" / ".bin" / "buf"
LANGUAGE_OPTIONS = ("go_package", "java_package", "java_multiple_files", "csharp_namespace")


def _build(buf: Path, source: str, out: Path) -> descriptor_pb2.FileDescriptorSet:
    subprocess.run([str(buf), "build", source, "-o", str(out)], cwd=PROTOS, check=True)
    # A buf image is wire-compatible with a FileDescriptorSet (buf's own fields are extensions).
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def adopt_new_language_options(
    against: descriptor_pb2.FileDescriptorSet, current: descriptor_pb2.FileDescriptorSet
) -> None:
    """Fill the older files' unset language options from the current files of the same name."""
    now = {file.name: file for file in current.file}
    for file in against.file:
        newer = now.get(file.name)
        if newer is None:
            continue
        for option in LANGUAGE_OPTIONS:
            if not file.options.HasField(option) and newer.options.HasField(option):  # type: ignore[arg-type]
                setattr(file.options, option, getattr(newer.options, option))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    buf = BUF
    with tempfile.TemporaryDirectory() as tmp:
        current_path, against_path = Path(tmp) / "current.binpb", Path(tmp) / "against.binpb"
        current = _build(buf, ".", current_path)
        against = _build(buf, argv[0], against_path)
        adopt_new_language_options(against, current)
        against_path.write_bytes(against.SerializeToString())
        result = subprocess.run(
            [str(buf), "breaking", str(current_path), "--against", str(against_path), "--config", "buf.yaml"],
            cwd=PROTOS,
        )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
