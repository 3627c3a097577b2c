# Stage 1: the source catalogue (backgrounds + object bank) that every shard renders from.


rule catalogue:
    output:
        directory("results/sources/catalogue"),
    params:
        code=SOURCES_CODE,
        config=SOURCES_CONFIG,
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/catalogue/catalogue.log",
    benchmark:
        "logs/benchmarks/catalogue/catalogue.tsv"
    shell:
        "mmdata sources build --config {params.config} -o {output} --workers {threads} > {log} 2>&1"


rule source_sheet:
    input:
        "results/sources/catalogue",
    output:
        report(
            "results/sources/sheet.png",
            caption="../report/sources.rst",
            category="1. Sources",
        ),
    params:
        code=SOURCES_CODE,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/source_sheet/source_sheet.log",
    benchmark:
        "logs/benchmarks/source_sheet/source_sheet.tsv"
    shell:
        "mmdata sources show --catalogue {input} --sheet {output} > {log} 2>&1"
