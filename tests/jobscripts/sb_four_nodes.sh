#!/bin/bash
#SBATCH --job-name=mpi
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=32

srun ./mpi_program
# expect: refused ~ sb_four_nodes.sh, line 3: #SBATCH --nodes=4: asks for 4 nodes
# expect (slurm): refused ~ Requested node configuration is not available
