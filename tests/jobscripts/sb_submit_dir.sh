#!/bin/sh
#SBATCH --job-name=submitdir
#SBATCH --output=/dev/null

cd "$SLURM_SUBMIT_DIR" || exit 1
echo "done in $(pwd)" > result.txt
# expect: exit 0
# expect: made result.txt ~ done in {dir}
