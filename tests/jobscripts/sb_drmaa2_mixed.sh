#!/bin/sh
#SBATCH --job-name=mixed
#SBATCH --output=mixed.out
#DRMAA2 --env GREETING=hi

echo "$GREETING from $SLURM_JOB_NAME"
# expect: exit 0
# expect: file mixed.out ~ hi from mixed
