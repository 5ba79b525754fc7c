#!/bin/sh
#SBATCH --job-name=steps
#SBATCH --array=0-4:2
#SBATCH --output=%x_%A_%a.out

echo "$SLURM_ARRAY_TASK_ID: $SLURM_ARRAY_TASK_COUNT tasks from $SLURM_ARRAY_TASK_MIN to $SLURM_ARRAY_TASK_MAX by $SLURM_ARRAY_TASK_STEP"
# expect: exit 0
# expect: file steps_{job}_4.out ~ 4: 3 tasks from 0 to 4 by 2
# expect (gridengine,libdrmaa): refused ~ indices start at 1
