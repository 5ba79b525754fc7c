#!/bin/sh
#PBS -N twofiles
#PBS -l walltime=300

echo "kept apart"
echo "the error stream" >&2
# expect: exit 0
# expect: file twofiles.o{job} ~ kept apart
# expect: file twofiles.e{job} ~ the error stream
