#!/bin/sh
#PBS -N pbs_vars
#PBS -v SPECIES=yeast,GENES=6000
#PBS -j oe
#PBS -q workq

echo "$SPECIES has $GENES genes"
# expect: exit 0
# expect: file pbs_vars.o{job} ~ yeast has 6000 genes
