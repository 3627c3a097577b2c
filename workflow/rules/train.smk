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
