#!/bin/sh
#$ -N smp
#$ -cwd
#$ -pe smp 2
#$ -m ea
#$ -M someone@example.org

export OMP_NUM_THREADS=$NSLOTS
echo "slots $NSLOTS threads $OMP_NUM_THREADS"
# expect: exit 0
# expect: file smp.o{own} ~ slots 2 threads 2
