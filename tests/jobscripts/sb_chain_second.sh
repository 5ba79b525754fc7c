#!/bin/sh
#SBATCH --job-name=stage2
#SBATCH --output=stage2.out

cat stage1.txt
# submit: --after {sb_chain_first.sh}
# expect: exit 0
# expect: file stage2.out ~ stage one output
