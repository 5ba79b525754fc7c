#!/bin/sh
#$ -N named
#$ -cwd
#$ -o out.$JOB_ID
#$ -e err.$JOB_ID

echo "out"
echo "err" >&2
# expect: exit 0
# expect: file out.{job} ~ out
# expect: file err.{job} ~ err
# expect (kubernetes): refused ~ the kubernetes backend cannot honour it (error path)
