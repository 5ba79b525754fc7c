#!/bin/bash
#SBATCH -J omp
#SBATCH -N 1
#SBATCH --ntasks-per-node=1
#SBATCH -c 2
#SBATCH -t 00:05:00
#SBATCH -o omp.%j.log

export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK
echo "running with $OMP_NUM_THREADS threads"
# expect: exit 0
# expect: file omp.{job}.log ~ running with 2 threads
# expect (libdrmaa): refused ~ the libdrmaa backend cannot honour it (resource limits)
