#!/bin/sh
#SBATCH --job-name=tasks
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH --output=tasks.out

echo "tasks $SLURM_NTASKS cpus per task $SLURM_CPUS_PER_TASK"
# expect: exit 0
# expect: file tasks.out ~ tasks 2 cpus per task 1
# expect (libdrmaa): refused ~ the libdrmaa backend cannot honour it (resource limits)
