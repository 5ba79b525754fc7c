#!/bin/sh
#PBS -N pbs_serial
#PBS -l select=1:ncpus=2:mem=200mb
#PBS -l walltime=00:10:00
#PBS -j oe

cd "$PBS_O_WORKDIR" || exit 1
echo "$PBS_JOBNAME $PBS_JOBID ncpus $NCPUS in $(pwd)"
# expect: exit 0
# expect: file pbs_serial.o{own} ~ pbs_serial {job} ncpus 2 in {dir}
# expect (libdrmaa): refused ~ the libdrmaa backend cannot honour it (resource limits)
