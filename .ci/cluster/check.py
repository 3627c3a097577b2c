"""Checks of the CI cluster stage, on Snakemake's console output and SLURM's job history.

    python check.py jobs OUTPUT --slurm-logs DIR
        every job of the run was submitted to SLURM, has its SLURM log, is COMPLETED in
        ``squeue --states=all``, and got as many CPUs as the Dask workers its command asked for;
        the dataset is audited by one ``audit_shard`` SLURM job per ``shard`` job;
    python check.py failure OUTPUT --status N --log RULE_LOG --slurm-logs DIR
        the run failed, its output names the job's log and its SLURM log, and the log holds the error.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.?$")
RULE = re.compile(r"^(local)?rule (\w+):$")
JOBID = re.compile(r"^jobid: (\d+)$")
WORKERS = re.compile(r"--workers (\d+)")
CPUS = re.compile(r"cpus_per_task=(\d+)")


@dataclass
class Job:
    """One job block of Snakemake's console output."""

    rule: str
    local: bool
    lines: list[str] = field(default_factory=list)

    def find(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return next((m for line in self.lines if (m := pattern.search(line))), None)


def parse_jobs(text: str) -> list[Job]:
    """Split Snakemake's output into job blocks, each starting at a ``rule NAME:`` line."""
    jobs: list[Job] = []
    for line in text.splitlines():
        if m := RULE.match(line.strip()):
            jobs.append(Job(rule=m.group(2), local=bool(m.group(1))))
        elif jobs:
            jobs[-1].lines.append(line.strip())
    return jobs


def slurm_history(job_ids: list[str]) -> dict[str, tuple[str, int]]:
    """State and CPU count of finished and running jobs, from ``squeue --states=all``."""
    out = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i|%T|%C", "-j", ",".join(job_ids)],
        check=True, capture_output=True, text=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return {r[0]: (r[1], int(r[2])) for r in rows}


def check_jobs(output: Path, slurm_logs: Path) -> list[str]:
    """Return the problems found (empty when every job really ran as a SLURM job)."""
    text = output.read_text()
    jobs = [j for j in parse_jobs(text) if not j.local]
    if not jobs:
        return [f"{output}: no jobs found in the Snakemake output"]
    # Snakemake prints a block per job ("jobid: N"), then "Job N has been submitted with SLURM jobid M"
    submitted = {m.group(1): m for line in text.splitlines() if (m := SUBMITTED.search(line.strip()))}
    problems, rows = [], []
    shards, audits = sum(j.rule == "shard" for j in jobs), sum(j.rule == "audit_shard" for j in jobs)
    if not shards or audits != shards:
        problems.append(f"{shards} shard job(s) but {audits} audit_shard job(s) on SLURM; expected one audit job per shard")
    for job in jobs:
        jobid = job.find(JOBID)
        sub = submitted.get(jobid.group(1)) if jobid else None
        if sub is None:
            problems.append(f"rule {job.rule}: no 'submitted with SLURM jobid' line")
            continue
        if not Path(sub.group(3)).is_file():
            problems.append(f"rule {job.rule}: SLURM log {sub.group(3)} missing")
        rows.append((job, sub.group(2)))
    history = slurm_history([slurm_id for _, slurm_id in rows]) if rows else {}
    for job, slurm_id in rows:
        state, cpus = history.get(slurm_id, ("absent from squeue --states=all", 0))
        workers, wanted = job.find(WORKERS), job.find(CPUS)
        print(f"  {job.rule:12s} SLURM job {slurm_id:>4s}  {state:10s} cpus={cpus}"
              + (f" workers={workers.group(1)}" if workers else ""))
        if state != "COMPLETED":
            problems.append(f"rule {job.rule}: SLURM job {slurm_id} is {state}")
        if workers and int(workers.group(1)) != cpus:
            problems.append(f"rule {job.rule}: --workers {workers.group(1)} but SLURM gave {cpus} CPUs")
        if wanted and int(wanted.group(1)) != cpus:
            problems.append(f"rule {job.rule}: cpus_per_task={wanted.group(1)} but SLURM gave {cpus} CPUs")
    return problems


def check_failure(output: Path, status: int, rule_log: Path, slurm_logs: Path) -> list[str]:
    """Return the problems found (empty when the failure was reported with the job's logs)."""
    text = output.read_text()
    problems = []
    if status == 0:
        problems.append("the workflow with a failing job exited 0")
    if str(rule_log) not in text:
        problems.append(f"the output does not name the job's log {rule_log}")
    if not rule_log.is_file() or "error" not in rule_log.read_text().lower():
        problems.append(f"{rule_log}: missing or without an error message")
    failed = [p for p in slurm_logs.rglob("*.log")]
    if not failed or not any(str(p) in text or p.name in text for p in failed):
        problems.append(f"the output does not name the failed job's SLURM log under {slurm_logs}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    jobs = sub.add_parser("jobs")
    jobs.add_argument("output", type=Path)
    jobs.add_argument("--slurm-logs", type=Path, required=True)
    fail = sub.add_parser("failure")
    fail.add_argument("output", type=Path)
    fail.add_argument("--status", type=int, required=True)
    fail.add_argument("--log", type=Path, required=True)
    fail.add_argument("--slurm-logs", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.what == "jobs":
        problems = check_jobs(args.output, args.slurm_logs)
    else:
        problems = check_failure(args.output, args.status, args.log, args.slurm_logs)
    for p in problems:
        print(f"check {args.what}: FAIL {p}", file=sys.stderr)
    if not problems:
        print(f"check {args.what}: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
