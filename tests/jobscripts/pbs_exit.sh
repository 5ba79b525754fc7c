#!/bin/sh
#PBS -N pbs_exit
#PBS -j oe

echo "exiting with 7"
exit 7
# expect: exit 7
# expect: file pbs_exit.o{own} ~ exiting with 7
