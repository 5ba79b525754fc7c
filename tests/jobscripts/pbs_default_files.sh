#!/bin/sh
#PBS -N twofiles
#PBS -l walltime=300

echo "kept apart"
echo "the error stream" >&2
# expect: exit 0
# expect: file twofiles.o{own} ~ kept apart
# expect: file twofiles.e{own} ~ the error stream
# expect (kubernetes): file twofiles.o{own} ~ kept apart
# expect (kubernetes): file twofiles.o{own} ~ the error stream
