# Stage 2: the synthetic dataset. One job per (part, shard) store; then the index and the audit.


rule shard:
    input:
        catalogue="results/sources/catalogue",
    output:
        directory("results/dataset/part{part}/shard-{shard}.zarr"),
    wildcard_constraints:
        part=r"[1-9]\d*",
        shard=r"\d{4}",
    params:
        code=RENDER_CODE,
        config=SHARD_CONFIG,
        samples=shard_samples,
    threads: 4
    resources:
        mem_mb=shard_mem_mb,
        runtime=60,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/shard/part{part}/shard-{shard}.log",
    benchmark:
        "logs/benchmarks/shard/part{part}/shard-{shard}.tsv"
    shell:
        "mmdata generate --config {params.config} --catalogue {input.catalogue}"
        " --part {wildcards.part} --shard {wildcards.shard} --root results/dataset"
        " --workers {threads} > {log} 2>&1"


rule index:
    input:
        shard_stores(),
    output:
        manifest=report(
            "results/dataset/manifest.json",
            caption="../report/manifest.rst",
            category="2. Dataset",
        ),
        card=report(
            directory("results/dataset/card"),
            patterns=["{name}.png", "{name}.md"],
            caption="../report/card.rst",
            category="2. Dataset",
        ),
    params:
        code=MMDATA_CODE,
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/index/index.log",
    benchmark:
        "logs/benchmarks/index/index.tsv"
    shell:
        "mmdata index --root results/dataset > {log} 2>&1"


rule audit_shard:
    """One shard against its manifest entry, its records and digests; some samples re-rendered."""
    input:
        store="results/dataset/part{part}/shard-{shard}.zarr",
        manifest="results/dataset/manifest.json",
        catalogue="results/sources/catalogue",
    output:
        "results/dataset/audit/part{part}/shard-{shard}.json",
    wildcard_constraints:
        part=r"[1-9]\d*",
        shard=r"\d{4}",
    params:
        code=MMDATA_CODE,
        samples=WF["audit_samples"],
        fast="--fast" if WF["audit_fast"] else "",
    threads: 1
    resources:
        mem_mb=shard_mem_mb,
        runtime=30,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/audit_shard/part{part}/shard-{shard}.log",
    benchmark:
        "logs/benchmarks/audit_shard/part{part}/shard-{shard}.tsv"
    shell:
        "mmdata -q audit --root results/dataset --part {wildcards.part} --shard {wildcards.shard}"
        " --samples {params.samples} {params.fast} --catalogue {input.catalogue} --json {output} --exit-zero > {log} 2>&1"


rule audit:
    """The shards' reports merged, with the checks of the dataset as a whole."""
    input:
        manifest="results/dataset/manifest.json",
        reports=audit_reports(),
    output:
        report("results/dataset/audit.txt", caption="../report/audit.rst", category="2. Dataset"),
    params:
        code=MMDATA_CODE,
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/audit/audit.log",
    benchmark:
        "logs/benchmarks/audit/audit.tsv"
    shell:
        "mmdata -q audit --root results/dataset --merge {input.reports} > {output} 2> {log}"


rule shards:
    input:
        shard_stores(selected_parts()),


rule dataset:
    input:
        dataset_targets(),
