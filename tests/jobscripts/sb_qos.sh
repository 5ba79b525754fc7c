#!/bin/sh
#SBATCH --job-name=qos
#SBATCH --qos=normal
#SBATCH --reservation=maintenance
#SBATCH --partition=compute
#SBATCH --output=qos.out

echo "bookkeeping only"
# expect: exit 0
# expect: file qos.out ~ bookkeeping only
# expect: stderr ~ line 3 #SBATCH --qos=normal; line 4 #SBATCH --reservation=maintenance; line 5 #SBATCH --partition=compute
# expect (slurm): refused ~ invalid partition specified: compute
# expect (gridengine,libdrmaa): refused ~ unknown queue "compute"
# expect (kubernetes): refused ~ namespace compute does not exist
