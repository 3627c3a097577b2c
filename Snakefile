# Learning-based video motion magnification: from image sources to an evaluated model.
#
#   snakemake --cores 2 all                      the whole pipeline at the scale of config/config.yaml
#   snakemake --cores 2 dataset                  sources -> shards -> index -> audit only
#   snakemake --configfile config/paper.yaml ... the paper's scale (COCO + VOC)
#
# The configuration is validated against mmdata/schema/config.schema.yaml before anything runs.
# See README.md, "Running the workflow" and "Running on a cluster".

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/sources.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/magnify.smk"
include: "workflow/rules/evaluate.smk"


onstart:
    write_config_views()  # the config files jobs read; never written by a dry run or --lint


rule all:
    default_target: True
    input:
        all_targets(),
