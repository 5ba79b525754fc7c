#!/bin/sh
#$ -N project
#$ -cwd
#$ -j y
#$ -P genomics
#$ -A lab42
#$ -r y

echo "accounted elsewhere"
# expect: exit 0
# expect: file project.o{own} ~ accounted elsewhere
# expect: stderr ~ ignored: line 5 #$ -P genomics; line 6 #$ -A lab42; line 7 #$ -r y
# expect (gridengine,libdrmaa): refused ~ the requested project "genomics" does not exist
