#!/bin/sh
#PBS -N pbs_mail
#PBS -m abe
#PBS -M someone@example.org
#PBS -A project1
#PBS -j oe

echo "mail goes to its user"
# expect: exit 0
# expect: file pbs_mail.o{own} ~ mail goes to its user
# expect: stderr ~ ignored: line 5 #PBS -A project1
