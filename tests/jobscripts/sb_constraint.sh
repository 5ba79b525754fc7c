#!/bin/bash
#SBATCH --job-name=ib
#SBATCH --constraint=infiniband

./program
# expect: refused ~ sb_constraint.sh, line 3: #SBATCH --constraint=infiniband: --constraint is not understood
# expect (slurm): refused ~ Invalid feature specification
