# Stage 5: the paper's quantitative evaluation (section 4.1, Fig. 8) of the trained network.
# Test sets and their scoring are split into evaluate.shards independent jobs (cases k, k + n, ...);
# `evaluate merge` puts the shards' scores back into one table, identical to an unsharded run's.


rule evaluation_sets:
    input:
        catalogue="results/sources/catalogue",
    output:
        directory("results/evaluate/sets/shard-{k}of{n}"),
    params:
        code=MMTRAIN_CODE,
        config=EVALUATE_CONFIG,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/evaluation_sets/shard-{k}of{n}.log",
    benchmark:
        "logs/benchmarks/evaluation_sets/shard-{k}of{n}.tsv"
    shell:
        "mmtrain -q evaluate sets --catalogue {input.catalogue} -o {output} --config {params.config}"
        " --shard {wildcards.k}/{wildcards.n} > {log} 2>&1"


rule evaluate_shard:
    input:
        sets="results/evaluate/sets/shard-{k}of{n}",
        catalogue="results/sources/catalogue",
        checkpoints=list(trained_models().values()),
    output:
        directory("results/evaluate/shards/{k}of{n}"),
    params:
        code=MMTRAIN_CODE,
        config=EVALUATE_CONFIG,
        models=" ".join(f"--model {name}={path}" for name, path in trained_models().items()),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/evaluate_shard/{k}of{n}.log",
    benchmark:
        "logs/benchmarks/evaluate_shard/{k}of{n}.tsv"
    shell:
        "OMP_NUM_THREADS=1 mmtrain -q evaluate run --sets {input.sets} --catalogue {input.catalogue}"
        " {params.models} --shard {wildcards.k}/{wildcards.n} -o {output}"
        " --workers {threads} --config {params.config} > {log} 2>&1"


rule evaluate:
    input:
        shards=expand("results/evaluate/shards/{shard}", shard=evaluation_shards()),
    output:
        report(
            directory("results/evaluate/scores"),
            patterns=["{name}.png", "{name}.md", "{name}.csv"],
            caption="../report/evaluate.rst",
            category="5. Evaluation",
        ),
    params:
        code=MMTRAIN_CODE,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/evaluate/evaluate.log",
    benchmark:
        "logs/benchmarks/evaluate/evaluate.tsv"
    shell:
        "mmtrain -q evaluate merge {input.shards} -o {output} > {log} 2>&1"
