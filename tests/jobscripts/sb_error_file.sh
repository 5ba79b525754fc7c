#!/bin/sh
#SBATCH --job-name=split
#SBATCH --output=split-%j.out
#SBATCH --error=split-%j.err

echo "to the output"
echo "to the error" >&2
# expect: exit 0
# expect: file split-{job}.out ~ to the output
# expect: file split-{job}.err ~ to the error
# expect (kubernetes): refused ~ the kubernetes backend cannot honour it (error path)
