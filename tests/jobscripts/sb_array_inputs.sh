#!/bin/sh
#SBATCH --job-name=fruit
#SBATCH --array=1-3
#SBATCH --time=00:02:00

# Each task picks its own input file.
INPUT=input_${SLURM_ARRAY_TASK_ID}.txt
echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID read $(cat "$INPUT")"
# given: input_1.txt = apple
# given: input_2.txt = banana
# given: input_3.txt = cherry
# expect: exit 0
# expect: file slurm-{own}_1.out ~ task 1 of {slurm_array} read apple
# expect: file slurm-{own}_3.out ~ task 3 of {slurm_array} read cherry
