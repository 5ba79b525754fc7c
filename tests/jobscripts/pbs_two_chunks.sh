#!/bin/sh
#PBS -N wide
#PBS -l select=2:ncpus=8:mpiprocs=8

mpiexec ./program
# expect: refused ~ pbs_two_chunks.sh, line 3: #PBS -l select=2:ncpus=8:mpiprocs=8: asks for 2 nodes
# expect (libdrmaa): refused ~ the libdrmaa backend cannot honour it (resource limits)
