#!/bin/sh
#$ -N after
#$ -cwd
#$ -j y

test -f stage1.txt && echo "the first job ran before"
# submit: --after {sb_chain_first.sh}
# expect: exit 0
# expect: file after.o{own} ~ the first job ran before
