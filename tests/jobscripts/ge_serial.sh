#!/bin/bash
#$ -N ge_serial
#$ -cwd
#$ -j y
#$ -l h_rt=0:10:0
#$ -S /bin/bash

echo "$JOB_NAME $JOB_ID task $SGE_TASK_ID"
echo "joined" >&2
# expect: exit 0
# expect: file ge_serial.o{own} ~ ge_serial {ge_job} task undefined
# expect: file ge_serial.o{own} ~ joined
