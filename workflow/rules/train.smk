# Stage 3: train the network on the indexed dataset.


rule train_model:
    input:
        manifest="results/dataset/manifest.json",
    output:
        checkpoint="results/train/checkpoint.pt",
        metrics=report(
            "results/train/metrics.jsonl",
            caption="../report/train.rst",
            category="3. Training",
        ),
    params:
        code=MMTRAIN_CODE,
        config=TRAIN_CONFIG,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/train_model/train_model.log",
    benchmark:
        "logs/benchmarks/train_model/train_model.tsv"
    shell:
        "OMP_NUM_THREADS={threads} mmtrain train --root results/dataset --out results/train"
        " --config {params.config} > {log} 2>&1"


rule train_preset:
    """Another model preset (workflow.train_presets) trained from scratch with the same settings."""
    input:
        manifest="results/dataset/manifest.json",
    output:
        checkpoint="results/train-{preset}/checkpoint.pt",
        metrics="results/train-{preset}/metrics.jsonl",
    wildcard_constraints:
        preset="paper|official",
    params:
        code=MMTRAIN_CODE,
        config=TRAIN_CONFIG,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/train_preset/{preset}.log",
    benchmark:
        "logs/benchmarks/train_preset/{preset}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} mmtrain train --root results/dataset --out results/train-{wildcards.preset}"
        " --config {params.config} --preset {wildcards.preset} > {log} 2>&1"


rule learning_curves:
    input:
        metrics=list(training_metrics().values()),
    output:
        report("results/train/curves.png", caption="../report/curves.rst", category="3. Training"),
    params:
        code=MMTRAIN_CODE,
        runs=" ".join(f"{name}={path}" for name, path in training_metrics().items()),
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/learning_curves/learning_curves.log",
    benchmark:
        "logs/benchmarks/learning_curves/learning_curves.tsv"
    shell:
        "mmtrain -q curves {params.runs} -o {output} > {log} 2>&1"
