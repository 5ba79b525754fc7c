#!/bin/sh
#PBS -N pbs_vars
#PBS -v SPECIES=yeast,GENES=6000
#PBS -j oe
#PBS -q workq

echo "$SPECIES has $GENES genes"
# expect: exit 0
# expect: file pbs_vars.o{own} ~ yeast has 6000 genes
# expect (slurm): refused ~ invalid partition specified: workq
# expect (gridengine,libdrmaa): refused ~ unknown queue "workq"
# expect (kubernetes): refused ~ namespace workq does not exist
