#!/bin/sh
#SBATCH --job-name=clean
#SBATCH --export=NONE
#SBATCH --output=clean.out

echo "home ${HOME-unset} id $SLURM_JOB_ID name $SLURM_JOB_NAME"
# expect: exit 0
# expect: file clean.out ~ home unset id {slurm_job} name clean
