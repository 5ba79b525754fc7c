#!/bin/sh
#SBATCH --job-name=stage1
#SBATCH --output=stage1.out

echo "stage one output" > stage1.txt
# expect: exit 0
