#!/bin/sh
#SBATCH --job-name=long
#SBATCH --time=1-00:00:00
#SBATCH --output=long.out
#SBATCH --requeue

echo "a day allowed"
# expect: exit 0
# expect: file long.out ~ a day allowed
# expect: stderr ~ ignored: line 5 #SBATCH --requeue
