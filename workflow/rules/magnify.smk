# Stage 4: magnify a synthesized demo video with the trained network.


rule demo_video:
    output:
        "results/magnify/demo.mp4",
    params:
        code=MMTRAIN_CODE,
        config=MAGNIFY_CONFIG,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/demo_video/demo_video.log",
    benchmark:
        "logs/benchmarks/demo_video/demo_video.tsv"
    shell:
        "mmtrain make-demo-video -o {output} --config {params.config} > {log} 2>&1"


rule magnify_video:
    input:
        video="results/magnify/demo.mp4",
        checkpoint="results/train/checkpoint.pt",
    output:
        video=report(
            "results/magnify/demo-magnified.mp4",
            caption="../report/magnify.rst",
            category="4. Magnification",
        ),
        slice=report(
            "results/magnify/demo-magnified-xt.png",
            caption="../report/magnify_slice.rst",
            category="4. Magnification",
        ),
    params:
        code=MMTRAIN_CODE,
        config=MAGNIFY_CONFIG,
        row=demo_slice_row(),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        cpus_per_task=cpus_of,
    conda:
        "../envs/motionmag.yaml"
    log:
        "logs/magnify_video/magnify_video.log",
    benchmark:
        "logs/benchmarks/magnify_video/magnify_video.tsv"
    shell:
        "OMP_NUM_THREADS={threads} mmtrain magnify {input.video} -o {output.video}"
        " --model {input.checkpoint} --config {params.config} --side-by-side"
        " --slice x --at {params.row} --slice-output {output.slice} > {log} 2>&1"
