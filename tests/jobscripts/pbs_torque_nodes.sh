#!/bin/sh
#PBS -N torque
#PBS -l nodes=1:ppn=2
#PBS -l walltime=01:00:00
#PBS -j oe

cd $PBS_O_WORKDIR
echo "ppn gives $NCPUS cpus"
# expect: exit 0
# expect: file torque.o{own} ~ ppn gives 2 cpus
# expect (libdrmaa): refused ~ the libdrmaa backend cannot honour it (resource limits)
