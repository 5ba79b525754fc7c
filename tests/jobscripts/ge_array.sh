#!/bin/sh
#$ -N fruits
#$ -cwd
#$ -t 1-3
#$ -l h_rt=00:05:00

INPUT=$(sed -n "${SGE_TASK_ID}p" fruits.txt)
echo "task $SGE_TASK_ID of $JOB_ID: $INPUT"
# given: fruits.txt = apple\nbanana\ncherry
# expect: exit 0
# expect: file fruits.o{own}.2 ~ task 2 of {ge_job}: banana
# expect: file fruits.e{own}.2 ~
# expect (kubernetes): file fruits.o{own}.2 ~ task 2 of {ge_job}: banana
