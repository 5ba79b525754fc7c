#!/bin/sh
#$ -N failing
#$ -cwd

echo "failing now" >&2
exit 5
# expect: exit 5
# expect: file failing.e{own} ~ failing now
# expect (kubernetes): file failing.o{own} ~ failing now
