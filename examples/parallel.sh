#!/bin/sh
# A batch split over cores or machines with GNU parallel, answering exactly as one
# `autodiff batch --json` would: blocks of BLOCK lines, kept in order (-k), each
# numbered from its own first line (--first-line), so "line" is the global one.
# --block 64M: room for BLOCK lines in one read (the 1 MB default warns on every block).
#
#   sh examples/parallel.sh jobs.jsonl > answers.jsonl
#
# Other machines: add `--sshloginfile nodes.txt` to the parallel command (each
# needs autodiff installed). Exit status: 0 if every job succeeded, else
# parallel's count of blocks that had a failed job.
BLOCK=${BLOCK:-10000}
AUTODIFF=${AUTODIFF:-autodiff}
parallel --pipe -k -N "$BLOCK" --block 64M \
  "$AUTODIFF batch --json --quiet --first-line \$(( ({#} - 1) * $BLOCK + 1 ))" < "$1"
