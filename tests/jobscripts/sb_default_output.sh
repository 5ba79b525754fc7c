#!/bin/sh
#SBATCH --job-name=plain
#SBATCH --time=5

echo "hello from $SLURM_JOB_NAME"
echo "and its standard error" >&2
# expect: exit 0
# expect: file slurm-{own}.out ~ hello from plain
# expect: file slurm-{own}.out ~ and its standard error
