"""``mmtrain models fetch official``: download the authors' trained model, verify, convert and register it.

The authors (Oh et al., ECCV 2018) publish their TensorFlow checkpoint in a zip archive linked from
their code's README (https://github.com/12dmodel/deep_motion_mag: "Download and place the pre-trained
model in to data/"); inside it the checkpoint is the folder
``data/training/o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3/checkpoint/`` (``checkpoint``, ``*.index``,
``*.data-00000-of-00001``). This project does not redistribute those weights; this command fetches
them from the authors' address onto the user's machine.

Verification, in two steps:

- the archive's SHA-256, against ``--sha256`` or :data:`OFFICIAL_ARCHIVE_SHA256` when one is known
  (none is recorded yet: the archive could not be fetched where this code was written, so its digest is
  printed for the user to compare and pin with ``--sha256``);
- the converted kernels' digest (:func:`weights_digest`), against :data:`OFFICIAL_WEIGHTS_SHA256`: the
  42 kernels of the authors' step-259002 checkpoint, computed from a copy of it. This always runs, so a
  different or damaged model is never registered under the authors' name.

Atomic: everything happens in a temporary folder inside the models folder and the weights are renamed
into place last; a failed download, a wrong digest or a failed conversion registers nothing.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mmdata.errors import CheckpointError, DownloadError
from mmdata.fsutil import atomic_path

if TYPE_CHECKING:  # numpy and tqdm are imported where used: `mmtrain models --help` shows OFFICIAL_URL only
    import numpy as np

__all__ = ["OFFICIAL_URL", "OFFICIAL_ARCHIVE_SHA256", "OFFICIAL_WEIGHTS_SHA256", "OFFICIAL_TERMS", "FetchResult",
           "fetch_official", "weights_digest"]

log = logging.getLogger(__name__)

#: The authors' archive, as linked from their README (the "pre-trained model" link).
OFFICIAL_URL = "https://people.csail.mit.edu/tiam/deepmag/data.zip"
#: SHA-256 of that archive; ``None``: not recorded (see the module's docstring), checked when ``--sha256`` is given.
OFFICIAL_ARCHIVE_SHA256: str | None = None
#: :func:`weights_digest` of the authors' 42 kernels (step 259002).
OFFICIAL_WEIGHTS_SHA256 = "4b538a921b2e66b5b617b0db5d3e0bfb5b2321a30f1db03ac88f5842e66a6396"
#: Printed by the command, after a successful fetch.
OFFICIAL_TERMS = (
    "Terms: the authors' trained model (Oh et al., 'Learning-based Video Motion Magnification', ECCV 2018; "
    "https://github.com/12dmodel/deep_motion_mag) is provided by its authors for academic, non-commercial use "
    "only. This project does not redistribute these weights: they were downloaded from the authors' address "
    "onto this machine. Cite the paper when you use them."
)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_official` registered."""

    name: str
    path: Path  # the registered weights (NAME.npz)
    archive_sha256: str
    step: int


def weights_digest(tensors: dict[str, np.ndarray], names: list[str]) -> str:
    """SHA-256 over the named tensors, in name order: name, shape and little-endian float32 bytes."""
    import numpy as np

    digest = hashlib.sha256()
    for name in sorted(names):
        array = np.ascontiguousarray(tensors[name], dtype="<f4")
        digest.update(name.encode() + b"\0" + repr(array.shape).encode() + b"\0" + array.tobytes())
    return digest.hexdigest()


def _download(url: str, dest: Path, *, timeout: float, progress: bool) -> str:
    """Write ``url`` to ``dest`` with a progress bar; returns the bytes' SHA-256."""
    from tqdm import tqdm

    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as fh:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="download", disable=None if progress else True) as bar:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    fh.write(block)
                    digest.update(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"{url}: cannot download ({exc.reason})") from None
    except (TimeoutError, ConnectionError) as exc:
        raise DownloadError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
    except ValueError as exc:  # an address urllib cannot use
        raise DownloadError(f"{url}: not a downloadable address ({exc})") from None
    return digest.hexdigest()


def _wanted(name: str) -> bool:
    base = PurePosixPath(name).name
    return base == "checkpoint" or base.endswith((".index", ".npz")) or ".data-" in base


def _extract(archive: Path, dest: Path) -> list[Path]:
    """The checkpoint files of a zip or tar archive, extracted flat into ``dest`` (nothing else is written)."""
    out: list[Path] = []
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if not info.is_dir() and _wanted(info.filename):
                        target = dest / PurePosixPath(info.filename).name
                        with zf.open(info) as src, open(target, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        out.append(target)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    if member.isfile() and _wanted(member.name):
                        target = dest / PurePosixPath(member.name).name
                        member_file = tf.extractfile(member)
                        assert member_file is not None  # a regular file
                        with member_file, open(target, "wb") as dst:
                            shutil.copyfileobj(member_file, dst)
                        out.append(target)
        else:
            raise CheckpointError(f"{archive.name}: the download is neither a zip nor a tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise CheckpointError(f"{archive.name}: the downloaded archive is corrupt ({exc})") from None
    return out


def _read_weights(files: list[Path]) -> tuple[dict[str, np.ndarray], str]:
    """TF variable name -> array from the extracted files: the TF checkpoint, else a weights.npz."""
    from mmtrain.model.official import read_npz_weights, read_tf_checkpoint

    indexes = [f for f in files if f.suffix == ".index"]
    if indexes:
        if len(indexes) > 1:
            raise CheckpointError(f"the archive holds {len(indexes)} TF checkpoints "
                                  f"({', '.join(f.name for f in indexes)}); expected the authors' one")
        return read_tf_checkpoint(indexes[0].with_suffix("")), indexes[0].with_suffix("").name
    npz = [f for f in files if f.suffix == ".npz"]
    if len(npz) == 1:
        return read_npz_weights(npz[0]), npz[0].name
    raise CheckpointError("the archive holds no TF checkpoint (*.index + *.data-*) and no single weights.npz")


def fetch_official(*, url: str = OFFICIAL_URL, sha256: str | None = None, name: str = "official",
                   models_dir: Path | None = None, timeout: float = 60.0, progress: bool = True) -> FetchResult:
    """Download the authors' archive, verify it, convert it to ``NAME.npz`` and register it.

    Args:
        url: the archive's address (default: the authors' link).
        sha256: the archive's expected SHA-256 (hex); default :data:`OFFICIAL_ARCHIVE_SHA256`.
        name: the name to register (``--model NAME`` then loads it).
        models_dir: where to register (default :func:`mmtrain.model.registry.models_home`).
        timeout: seconds without an answer before the download fails.
        progress: show a progress bar.

    Returns:
        The registered name, file, the archive's SHA-256 and the checkpoint's step.

    Raises:
        DownloadError: unreachable, an HTTP error, or an archive whose SHA-256 differs.
        CheckpointError: a corrupt archive, no checkpoint in it, or weights that are not the authors'.
        ConfigError: a bad name or digest.
    """
    import numpy as np

    from mmdata.errors import ConfigError
    from mmtrain.model.network import MagNet, ModelConfig
    from mmtrain.model.official import load_official_state, official_parameter_names
    from mmtrain.model.registry import models_home

    if not name or "/" in name or name.startswith(".") or name.endswith((".npz", ".pt")):
        raise ConfigError(f"--name {name!r}: expected a plain model name such as 'official'")
    expected = (sha256 or OFFICIAL_ARCHIVE_SHA256 or "").lower() or None
    if expected is not None and (len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected)):
        raise ConfigError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
    folder = Path(models_dir) if models_dir is not None else models_home()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=folder) as tmp:
        work = Path(tmp)
        archive = work / "download"
        log.info("downloading %s", url)
        actual = _download(url, archive, timeout=timeout, progress=progress)
        if expected is not None and actual != expected:
            raise DownloadError(f"{url}: SHA-256 {actual} differs from the expected {expected}; nothing registered")
        if expected is None:
            log.warning("%s: no archive digest recorded; its SHA-256 is %s (pin it with --sha256)", url, actual)
        extracted = work / "files"
        extracted.mkdir()
        tensors, source = _read_weights(_extract(archive, extracted))
        model = MagNet(ModelConfig.from_preset("official"))
        load_official_state(model, tensors, source=source)  # every kernel present, of its shape, finite
        names = list(official_parameter_names(model))
        if weights_digest(tensors, names) != OFFICIAL_WEIGHTS_SHA256:
            raise CheckpointError(f"{source}: these are not the authors' released weights (their digest differs "
                                  "from the recorded one); nothing registered")
        step = int(tensors["Variable"]) if "Variable" in tensors and np.ndim(tensors["Variable"]) == 0 else 0
        target = folder / f"{name}.npz"
        with atomic_path(target) as part, open(part, "wb") as fh:
            arrays = {n: np.asarray(tensors[n], dtype="<f4") for n in names}
            np.savez(fh, Variable=np.int32(step), **arrays)  # type: ignore[arg-type]
    log.info("registered %s: %s", name, target)
    return FetchResult(name=name, path=target, archive_sha256=actual, step=step)
