#!/bin/sh
#$ -N stepping
#$ -cwd
#$ -t 2-6:2
#$ -j y

echo "$SGE_TASK_ID $SGE_TASK_FIRST $SGE_TASK_LAST $SGE_TASK_STEPSIZE"
# expect: exit 0
# expect: file stepping.o{own}.4 ~ 4 2 6 2
