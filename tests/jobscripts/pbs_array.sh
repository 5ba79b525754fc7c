#!/bin/sh
#PBS -N pbs_array
#PBS -J 1-3
#PBS -l walltime=00:05:00
#PBS -j oe

cd "$PBS_O_WORKDIR"
echo "subjob $PBS_JOBID index $PBS_ARRAY_INDEX: $(cat sample_$PBS_ARRAY_INDEX.dat)"
# given: sample_1.dat = A
# given: sample_2.dat = B
# given: sample_3.dat = C
# expect: exit 0
# expect: file pbs_array.o{own}.3 ~ subjob {job}[3] index 3: C
