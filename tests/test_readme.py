"""Every shell command of README.md and of the documentation pages, exactly as written, is run by a test.

The fenced ``bash`` blocks of README.md and of every page of ``docs/`` (in the order of the site's
navigation, ``mkdocs.yml``'s ``nav``: :func:`doc_pages`) are parsed into commands (continuation lines
joined, trailing comments dropped; a command shown on several pages counts once, where it first
appears) and each one must appear in :data:`HOW` with the way it is exercised:

* ``ci``: the two set-up commands of "Quick start"; ``.ci/run`` runs the first one as written in a
  fresh virtual environment and a fresh copy of the repository, and is itself the second one;
* ``dry``: paper-scale and cluster commands, run as written plus ``-n`` (a dry run builds the whole
  job graph, with every rule's threads and resources, without running a job);
* ``fast``: run as written in a scratch folder that holds the inputs the command names (small
  stand-ins at the same relative paths: ``in.mp4``, ``guitar.mp4``, the authors' ``weights.npz``,
  ``coco/``, ``VOCdevkit/``); in the slow stage of ``.ci/run`` (about a minute: the sources and the demo video);
* ``loop``: the cluster loop of ``mmdata generate --scheduler``, which needs a running Dask
  scheduler: its options are checked against ``mmdata generate --help``;
* ``gpu``: the GPU measurement script, which needs a CUDA device: its options are checked against
  its ``--help`` (its CPU mode, ``--tiny``, is run by ``tests/mmtrain/train/test_gpu_reference.py``);
* ``bench``: the performance benchmarks (each takes from minutes to an hour on 2 cores, measuring a
  previous release beside this checkout): their options are checked against their ``--help``, and
  the git ref each names as ``--baseline`` must be a commit of this repository (skipped, with the
  reason, in a copy without git history, e.g. one extracted from ``git archive``);
* ``demo``: the demo workflow and the commands on its results (and the network commands), run in
  page order in one scratch folder, together with the ``fast`` ones, in one slow test
  (``python -m pytest -m slow tests/test_readme.py``; about half an hour on 2 loaded cores). After the
  regeneration examples (docs/workflow.md) it checks what the page says: ``snakemake all`` then has
  nothing to do.

A command of any page missing from :data:`HOW` (or a stale entry of it) fails
:func:`test_every_readme_command_is_known`, and a page with commands that the navigation does not list
fails :func:`test_every_page_with_commands_is_in_the_navigation`, so the documentation and its tests
cannot drift apart.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
MKDOCS = REPO_ROOT / "mkdocs.yml"
BIN_DIR = Path(sys.executable).parent
SHARED = REPO_ROOT.parent / "shared" / "data"

HOW: dict[str, str] = {
    # Quick start (README.md, docs/index.md)
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . && snakemake --cores 2 all --report results/report.html --report-after-run": "ci",
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e '.[test]' && python -m pytest": "ci",
    # Magnify your own video (docs/tutorial.md)
    "mmtrain make-demo-video -o in.mp4 --frames 16 --size 64 64 --amplitude 0.5 --freq 2 --fps 30": "fast",
    "mmtrain magnify in.mp4 -o in-x10.mp4 --alpha 10 --mode static --model motionmag-cpu-ref --side-by-side --slice x:32 --frames-png 8": "fast",
    "mmtrain magnify in.mp4 -o in-band.mp4 --alpha 10 --mode temporal --filter butter --band 1 3 --model motionmag-cpu-ref --side-by-side": "demo",
    "mmtrain magnify in.mp4 -o in-phase.mp4 --method phase_based --alpha 10 --mode temporal --filter butter --band 1 3 --side-by-side": "demo",
    "mmtrain make-demo-video -o demo-160.mp4 --frames 60 --size 160 120 --amplitude 0.5 --freq 2 --fps 30": "demo",
    "mmtrain magnify demo-160.mp4 -o demo-160-x10.mp4 --alpha 10 --mode static --model motionmag-cpu-ref --side-by-side --slice x:60 --frames-png 8": "demo",
    # Running the workflow (docs/workflow.md)
    "snakemake --cores 8 all": "demo",
    "snakemake --cores 8 all --configfile config/paper.yaml": "dry",
    "snakemake --cores 8 dataset --config seed=3": "dry",
    "snakemake --report results/report.html": "demo",
    "snakemake --workflow-profile workflow/profiles/local all": "demo",
    "snakemake --cores 8 results/dataset/part1/shard-0001.zarr": "demo",
    "snakemake --cores 8 shards --config 'workflow={parts: [3]}'": "demo",
    "snakemake --cores 8 shards --config 'workflow={parts: [1, fg_only]}'": "demo",
    "snakemake --cores 8 dataset --forcerun results/dataset/part1/shard-0001.zarr": "demo",
    "snakemake --cores 8 dataset --forcerun results/dataset/part1/shard-*.zarr": "demo",
    "snakemake --cores 8 dataset --forcerun shard": "dry",
    # Running on a cluster (docs/cluster.md)
    "snakemake all --workflow-profile workflow/profiles/slurm --configfile config/paper.yaml": "dry",
    "snakemake all --workflow-profile workflow/profiles/slurm --default-resources slurm_partition=cpu slurm_account=myproject --set-threads shard=16 --set-resources shard:mem_mb=16000 shard:runtime=240 train_model:slurm_partition=gpu train_model:gpu=2": "dry",
    "timeout -k 10 600 snakemake dataset --workflow-profile workflow/profiles/slurm --set-threads catalogue=2 shard=1 audit_shard=1 --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2 --slurm-keep-successful-logs": "dry",
    # Sources (docs/dataset/sources.md)
    "mmdata sources build --kind builtin -o resources/sources/builtin": "fast",
    "mmdata sources build --coco-json coco/annotations/instances_train2017.json --coco-images coco/train2017 --voc-root VOCdevkit/VOC2012 -o resources/sources/coco_voc --workers 8": "fast",
    "mmdata sources show --catalogue resources/sources/coco_voc --sheet sheet.png --seed 0": "fast",
    # Rendering (docs/dataset/rendering.md)
    "mmdata preview -o results/preview --samples 4": "demo",
    "mmdata preview -o results/preview --catalogue results/sources/catalogue --parts fg_bg static --size 128": "demo",
    # Dataset store (docs/dataset/store.md; the loop: docs/cluster.md)
    "mmdata generate --config config/config.yaml --catalogue resources/sources/builtin --part 1 --shard 1 --root results/dataset --workers 8": "demo",
    "mmdata index --root results/dataset": "demo",
    "mmdata audit --root results/dataset --samples 100 --seed 0": "demo",
    "mmdata audit --root results/dataset --part 1 --shard 1 --samples 2 --fast --json audit-1-1.json": "demo",
    "mmdata audit --root results/dataset --merge results/dataset/audit/part*/shard-*.json": "demo",
    "mmdata explain --root results/dataset --part 1 --index 40": "demo",
    "for k in $(seq 0 199); do mmdata generate --config config/paper.yaml --catalogue resources/sources/coco_voc --part 1 --shard $k --root results/dataset --scheduler tcp://10.0.0.5:8786; done": "loop",  # needs a scheduler
    # Magnifying videos (docs/magnify.md)
    "mmtrain magnify in.mp4 -o out.mp4 --alpha 10 --mode static --model weights.npz": "demo",
    "mmtrain magnify in.mp4 -o out.mp4 --alpha 8 --mode dynamic --model results/train/checkpoint.pt": "demo",
    "mmtrain magnify demo.mp4 -o demo-fir.mkv --codec ffv1 --alpha 10 --mode temporal --filter fir --band 1 3 --model weights.npz": "demo",
    "mmtrain magnify demo.mp4 -o demo-butter.mp4 --crf 10 --alpha 10 --mode temporal --filter butter --band 1 3 --trim 15 --model weights.npz --side-by-side --difference 8": "demo",
    "mmtrain magnify demo.mp4 -o demo-phase.mp4 --method phase_based --alpha 10 --mode temporal --filter butter --band 1 3 --slice x:64 --slice y:40 --frames-png 0,30": "demo",
    "mmtrain magnify demo.mp4 -o demo-linear/ --method linear --alpha 5 --mode static --frames 10": "demo",
    "mmtrain magnify demo.mp4 -o demo-roi.mkv --codec ffv1 --method linear --alpha 5 --mode static --frames 10 --roi 32 32 64 48 --feather 8": "demo",
    "mmtrain magnify guitar.mp4 -o out.mp4 --preset guitar --model weights.npz --side-by-side --slice y --at 200": "demo",
    "mmtrain magnify guitar.mp4 -o guitar-crop.mp4 --preset guitar --start 2 --frames 6 --crop 150 8 48 32 --model weights.npz --slice y:40": "demo",
    "mmtrain make-demo-video -o demo.mp4 --frames 60 --size 128 128 --amplitude 0.5 --freq 2 --fps 30": "fast",
    # Finding the motion (docs/spectrum.md)
    "mmtrain spectrum demo.mp4 -o results/spectrum/demo": "fast",
    "mmtrain spectrum demo.mp4 -o results/spectrum/demo-roi --start 10 --frames 40 --roi 8 8 64 64 --roi 56 56 64 64 --scale 0.1": "fast",
    "mmtrain magnify demo.mp4 -o demo-peak.mp4 --method phase_based --alpha 10 --mode temporal --filter butter --band peak": "fast",
    # The reference model (docs/reference-model.md)
    "mmtrain models list": "fast",
    "mmtrain models show motionmag-cpu-ref": "fast",
    "mmtrain magnify in.mp4 -o out-ref.mp4 --alpha 10 --model motionmag-cpu-ref": "fast",
    "snakemake --cores 2 all --configfile config/reference-cpu.yaml": "dry",
    "mmtrain models release results/train/checkpoint.pt --name my-model --metrics results/train/metrics.jsonl --dataset results/dataset --config config/reference-cpu.yaml --scores results/evaluate/scores -o released": "demo",
    "snakemake --cores 16 all --configfile config/reference.yaml": "dry",
    "python benchmarks/gpu_reference.py --out results/gpu_reference.json": "gpu",  # options checked; --tiny is run by its own test
    # Evaluation (docs/evaluation.md)
    "mmtrain evaluate sets --catalogue resources/sources/builtin -o results/evaluate/sets": "demo",
    "mmtrain evaluate run --sets results/evaluate/sets -o results/evaluate --model ours=results/train/checkpoint.pt --model official=weights.npz": "demo",
    "mmtrain evaluate sets --protocol reeval --size quick --catalogue resources/sources/builtin -o results/evaluate/reeval-sets": "demo",
    "mmtrain evaluate run --protocol reeval --size quick --sets results/evaluate/reeval-sets -o results/evaluate/reeval": "demo",
    "mmtrain evaluate sets --shard 0/2 --catalogue resources/sources/builtin -o results/evaluate/sets-2": "demo",
    "mmtrain evaluate sets --shard 1/2 --catalogue resources/sources/builtin -o results/evaluate/sets-2": "demo",
    "mmtrain evaluate run --shard 0/2 --sets results/evaluate/sets-2 -o results/evaluate/part0": "demo",
    "mmtrain evaluate run --shard 1/2 --sets results/evaluate/sets-2 -o results/evaluate/part1": "demo",
    "mmtrain evaluate merge results/evaluate/part0 results/evaluate/part1 -o results/evaluate/merged": "demo",
    "mmtrain evaluate video-accuracy demo.mp4 --frames 30 --alpha 5 --band 1 3 --bands 1-3 5-15 --points 8 -o results/video-accuracy/demo": "fast",
    # Performance (docs/performance.md)
    "python benchmarks/bench_magnify.py --speed --baseline 86a809c --rounds 3": "bench",
    "python benchmarks/bench_magnify.py --memory --baseline 86a809c --memory-frames 30 120": "bench",
    "python benchmarks/bench_train.py --baseline 86a809c --rounds 2": "bench",
    "python benchmarks/bench_perf.py --baseline 86a809c --rounds 3 --samples 48": "bench",
    "python benchmarks/bench_audit.py --samples 16 --repeats 3": "bench",
    "python benchmarks/bench_load.py --frames 4 --steps 2": "bench",
    "python benchmarks/bench_magnify.py --inference --data ../shared/data --rounds 3 --frames 4 --no-bf16 --tf-python ../tfvenv/bin/python": "bench",
    "python benchmarks/bench_startup.py --rounds 3 --baseline 6b9b9d2": "bench",
}


def readme_commands(text: str) -> list[str]:
    """The commands of the fenced ``bash`` blocks, in order: continuations joined, comments dropped.

    A ``for ... done`` block is one command (its lines joined with ``; `` where needed).
    """
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        lines = []
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s+)#\s.*$", "", line).strip()  # a comment: '#' after blank space
            if line:
                lines.append(" ".join(line.split()))
        if lines and lines[0].startswith("for "):
            head, *body, done = lines
            lines = [" ".join([head, "; ".join(body) + ";", done])]
        commands += lines
    return commands


def _nav_files(nav: object) -> list[str]:
    """The Markdown files of an mkdocs ``nav`` (nested lists of ``{title: file-or-list}``), in order."""
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    return []


def doc_pages() -> list[Path]:
    """README.md, then every page of the site's navigation that is a file of docs/ (generated ones are not)."""
    nav = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))["nav"]
    return [README] + [DOCS / f for f in _nav_files(nav) if (DOCS / f).is_file()]


def doc_commands() -> list[str]:
    """The commands of every page, in page order, each once (where it first appears)."""
    commands = [c for page in doc_pages() for c in readme_commands(page.read_text(encoding="utf-8"))]
    return list(dict.fromkeys(commands))


def _env() -> dict[str, str]:
    """The test's Python first on PATH (its mmdata, mmtrain, snakemake), this checkout importable."""
    path = f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PATH": path, "PYTHONPATH": pythonpath}


def run_command(command: str, cwd: Path, *, dry: bool = False, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a documented command with bash in ``cwd`` (with ``-n`` appended for a dry run); fail on exit != 0."""
    result = subprocess.run(["bash", "-c", command + (" -n" if dry else "")], cwd=cwd, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"documented command exited {result.returncode} in {cwd}:\n  {command}\n{result.stdout[-6000:]}")
    return result


def make_checkout(path: Path) -> Path:
    """A scratch folder that looks like the checkout to the documented commands (links to its files)."""
    path.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config"):
        (path / name).symlink_to(REPO_ROOT / name)
    return path


def add_inputs(path: Path) -> None:
    """The inputs the documented commands name, at the paths they name them: small stand-ins."""
    official = SHARED / "official_checkpoint" / "weights.npz"
    if not official.is_file():
        pytest.skip(f"{official}: the authors' weights are not available")
    (path / "weights.npz").symlink_to(official)
    (path / "coco" / "annotations").mkdir(parents=True)
    (path / "coco" / "annotations" / "instances_train2017.json").symlink_to(
        SHARED / "coco_clarifai" / "annotations" / "instances_val2017_subset.json")
    (path / "coco" / "train2017").symlink_to(SHARED / "coco_clarifai" / "images")
    (path / "VOCdevkit").mkdir()
    (path / "VOCdevkit" / "VOC2012").symlink_to(SHARED / "voc_icevision")
    # videos: a short clip for in.mp4; a wide one for guitar.mp4, whose slice column is 200
    run_command("mmtrain make-demo-video -o in.mp4 --frames 8 --size 64 64", path)
    run_command("mmtrain make-demo-video -o guitar.mp4 --frames 8 --size 208 48", path)


def commands_of(kind: str) -> list[str]:
    return [c for c in doc_commands() if HOW.get(c) == kind]


# ---- the inventory ----------------------------------------------------------------------------------
def test_every_readme_command_is_known() -> None:
    commands = doc_commands()
    unknown = [c for c in commands if c not in HOW]
    stale = [c for c in HOW if c not in commands]
    assert not unknown, "commands of README.md or docs/ no test runs (add them to tests/test_readme.py HOW):\n" + "\n".join(unknown)
    assert not stale, "HOW names commands that neither README.md nor docs/ has any more:\n" + "\n".join(stale)


def test_every_page_with_commands_is_in_the_navigation() -> None:
    """A page the navigation leaves out would have its commands neither shown in order nor tested."""
    pages = set(doc_pages())
    missing = [str(page.relative_to(REPO_ROOT)) for page in sorted(DOCS.rglob("*.md"))
               if page not in pages and readme_commands(page.read_text(encoding="utf-8"))]
    assert not missing, "pages with bash blocks that mkdocs.yml's nav does not list:\n" + "\n".join(missing)
    assert len(pages) > 10 and README in pages


def test_the_readme_links_resolve() -> None:
    """The README is a table of contents of docs/: each of its relative links names a file there, and
    each #anchor a heading of that page (mkdocs checks the links between the pages themselves)."""
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(((?!https?:)[^)#\s]+)(#[^)\s]+)?\)", text)
    assert len(links) > 10
    for target, anchor in links:
        path = REPO_ROOT / target
        assert path.exists(), f"README.md links {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in headings}
            assert anchor[1:] in slugs, f"README.md links {target}{anchor}: no such heading there"


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_first_as_written() -> None:
    setup = commands_of("ci")
    assert len(setup) == 2
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\n.ci/first-contact\n" in ci  # runs the first command verbatim, from README.md itself:
    first_line_of_first_block = README.read_text(encoding="utf-8").split("```bash\n", 1)[1].splitlines()[0]
    assert first_line_of_first_block == setup[0]
    assert "python -m pytest" in ci and "pip install -q -e '.[test]'" in ci  # CI is the second


def test_the_cluster_loop_is_a_valid_generate_command_per_shard() -> None:
    """The loop needs a running Dask scheduler; check its shape and that generate takes its options."""
    (loop,) = commands_of("loop")
    assert loop.startswith("for k in $(seq 0 199); do mmdata generate ") and loop.endswith("; done")
    body = loop.split("; do ", 1)[1].rsplit("; done", 1)[0]
    usage = subprocess.run(["mmdata", "generate", "--help"], env=_env(), capture_output=True, text=True, timeout=120)
    assert usage.returncode == 0
    for option in re.findall(r"(?<!\S)--[a-z-]+", body):
        assert option in usage.stdout, f"mmdata generate has no {option}"


@pytest.mark.parametrize("command", commands_of("gpu") + commands_of("bench"))
def test_script_command_takes_those_options(command: str) -> None:
    script, *args = command.split()[1:]
    usage = subprocess.run([sys.executable, str(REPO_ROOT / script), "--help"], env=_env(), capture_output=True,
                           text=True, timeout=120)
    assert usage.returncode == 0, usage.stderr
    for option in (a for a in args if a.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", usage.stdout), f"{script} has no {option}"


def no_git_history() -> str | None:
    """Why this copy of the repository cannot answer questions about its history (None: it can).

    A copy without ``.git`` (``git archive``, a source tarball), one inside some other repository, or a
    shallow clone has no history to look a commit up in; checks that need one skip with this reason.
    """
    def git(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None

    top = git("rev-parse", "--show-toplevel")
    if top is None:
        return "git is not installed"
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != REPO_ROOT:
        return f"{REPO_ROOT} is not a git checkout (e.g. extracted from `git archive`): no history to find commits in"
    shallow = git("rev-parse", "--is-shallow-repository")
    if shallow is not None and shallow.stdout.strip() == "true":
        return f"{REPO_ROOT} is a shallow clone: its history is cut off"
    return None


@pytest.mark.parametrize("command", [c for c in commands_of("bench") if "--baseline" in c.split()])
def test_benchmark_baseline_is_a_commit(command: str) -> None:
    reason = no_git_history()
    if reason is not None:
        pytest.skip(reason)
    args = command.split()
    ref = args[args.index("--baseline") + 1]
    found = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--verify", "--quiet", ref + "^{commit}"],
                           capture_output=True, text=True)
    assert found.returncode == 0, f"{command}: {ref} is not a commit of this repository"


def test_there_are_gpu_and_benchmark_commands() -> None:
    assert len(commands_of("gpu")) == 1 and len(commands_of("bench")) >= 4


# ---- dry runs: paper scale and cluster ----------------------------------------------------------
@pytest.mark.parametrize("command", commands_of("dry"))
def test_dry_run(command: str, tmp_path: Path) -> None:
    result = run_command(command, make_checkout(tmp_path), dry=True, timeout=600)
    assert "Job stats:" in result.stdout or "Nothing to be done" in result.stdout


# ---- fast commands ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_checkout(tmp_path_factory.mktemp("readme") / "checkout")
    add_inputs(path)
    return path


@pytest.mark.slow  # about a minute: runs in the slow stage of .ci/run
def test_fast_commands_in_readme_order(scratch: Path) -> None:
    """In order, in one folder: a later command may read what an earlier one wrote (build, then show)."""
    for command in dict.fromkeys(commands_of("fast")):
        run_command(command, scratch)


# ---- the demo workflow and everything run on its results (slow) --------------------------------
def _planned_jobs(output: str) -> list[str]:
    return re.findall(r"^\s*(?:local)?rule (\w+):$", output, re.M)


@pytest.mark.slow
@pytest.mark.timeout(5400)  # the demo workflow and every documented command on its results, in one folder
def test_demo_and_fast_commands_in_readme_order(tmp_path: Path) -> None:
    path = make_checkout(tmp_path / "checkout")
    add_inputs(path)
    for command in doc_commands():
        if HOW[command] not in ("demo", "fast"):
            continue
        run_command(command, path, timeout=3600)
        if command == "snakemake --cores 8 dataset --forcerun results/dataset/part1/shard-*.zarr":
            # the README: a regenerated (byte-identical) shard re-runs index and audit, and nothing after
            again = run_command("snakemake --cores 8 all", path, dry=True)
            assert _planned_jobs(again.stdout) == [], again.stdout
    assert (path / "results" / "report.html").stat().st_size > 0
