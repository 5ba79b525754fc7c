#!/bin/sh
#PBS -N pbs_mail
#PBS -m abe
#PBS -M someone@example.org
#PBS -A project1
#PBS -j oe

echo "mail is bookkeeping"
# expect: exit 0
# expect: file pbs_mail.o{job} ~ mail is bookkeeping
# expect: stderr ~ ignored: line 3 #PBS -m abe; line 4 #PBS -M someone@example.org; line 5 #PBS -A project1
