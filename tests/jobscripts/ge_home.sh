#!/bin/sh
#$ -N athome
#$ -j y

echo "no -cwd: the files go home"
# expect: exit 0
# expect: file {home}/athome.o{own} ~ no -cwd: the files go home
