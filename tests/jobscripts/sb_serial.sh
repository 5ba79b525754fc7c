#!/bin/bash
#SBATCH --job-name=serial
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --mem=200M
#SBATCH --time=00:10:00
#SBATCH --output=%x-%j.out
#SBATCH --mail-type=END,FAIL
#SBATCH --mail-user=someone@example.org
#SBATCH --account=proj0815

# A serial job as the guides print it.
echo "job $SLURM_JOB_ID name $SLURM_JOB_NAME cpus $SLURM_CPUS_PER_TASK tasks $SLURM_NTASKS nodes $SLURM_JOB_NUM_NODES"
# expect: exit 0
# expect: file serial-{job}.out ~ job {slurm_job} name serial cpus 2 tasks 1 nodes 1
# expect: stderr ~ ignored: line 11 #SBATCH --account=proj0815
# expect (libdrmaa): refused ~ the libdrmaa backend cannot honour it (resource limits)
