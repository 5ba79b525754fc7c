#!/bin/sh
#$ -N workdir
#$ -cwd
#$ -o /dev/null
#$ -j y

cd "$SGE_O_WORKDIR" || exit 1
echo "written by $JOB_NAME" > ge_result.txt
# expect: exit 0
# expect: made ge_result.txt ~ written by workdir
