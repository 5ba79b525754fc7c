#!/bin/sh
#PBS -N pbs_files
#PBS -o pbs_out.txt
#PBS -e pbs_err.txt

echo "standard output"
echo "standard error" >&2
# expect: exit 0
# expect: file pbs_out.txt ~ standard output
# expect: file pbs_err.txt ~ standard error
# expect (kubernetes): refused ~ the kubernetes backend cannot honour it (error path)
