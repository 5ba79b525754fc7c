#!/bin/sh
#SBATCH -J fails
#SBATCH -o fails.out

echo "about to fail"
exit 3
# expect: exit 3
# expect: file fails.out ~ about to fail
