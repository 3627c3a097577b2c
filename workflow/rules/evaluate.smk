# Stage 5: the paper's quantitative evaluation (section 4.1, Fig. 8) of the trained network.


rule evaluation_sets:
    input:
        catalogue="results/sources/catalogue",
    output:
        directory("results/evaluate/sets"),
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
        "logs/evaluation_sets/evaluation_sets.log",
    benchmark:
        "logs/benchmarks/evaluation_sets/evaluation_sets.tsv"
    shell:
        "mmtrain evaluate sets --catalogue {input.catalogue} -o {output} --config {params.config}"
        " > {log} 2>&1"


rule evaluate:
    input:
        sets="results/evaluate/sets",
        checkpoint="results/train/checkpoint.pt",
    output:
        report(
            directory("results/evaluate/scores"),
            patterns=["{name}.png", "{name}.md", "{name}.csv"],
            caption="../report/evaluate.rst",
            category="5. Evaluation",
        ),
    params:
        code=MMTRAIN_CODE,
        config=EVALUATE_CONFIG,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/evaluate/evaluate.log",
    benchmark:
        "logs/benchmarks/evaluate/evaluate.tsv"
    shell:
        "OMP_NUM_THREADS=1 mmtrain evaluate run --sets {input.sets} --model ours={input.checkpoint}"
        " -o {output} --workers {threads} --config {params.config} > {log} 2>&1"
