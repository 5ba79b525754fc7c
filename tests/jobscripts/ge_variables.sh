#!/bin/sh
#$ -N vars
#$ -cwd
#$ -j y
#$ -v GREETING=hello,TARGET=world

echo "$GREETING $TARGET"
# expect: exit 0
# expect: file vars.o{own} ~ hello world
