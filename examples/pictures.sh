#!/usr/bin/env bash
# The people display of a few example programs, at the width of your terminal.
#   bash examples/pictures.sh            (or: COLUMNS=200 bash examples/pictures.sh)
set -euo pipefail
cd "$(dirname "$0")"
autodiff eval - a=2 b=3 < seed.ad
echo
autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
echo
autodiff eval - a=0.5 b=-1 c=2 < shared.ad
echo
autodiff eval - x1=0.5 x2=-1.5 w11=0.8 w12=-0.4 b1=0.1 w21=-0.6 w22=0.3 b2=0 \
    w31=1.2 w32=0.7 b3=0.5 v1=1.5 v2=-2 v3=0.5 c=0.2 t=1 < mlp.ad
echo
# A real picture of the same network: Graphviz draws the DOT export.
if command -v dot >/dev/null; then
    autodiff eval - x1=0.5 x2=-1.5 w11=0.8 w12=-0.4 b1=0.1 w21=-0.6 w22=0.3 b2=0 \
        w31=1.2 w32=0.7 b3=0.5 v1=1.5 v2=-2 v3=0.5 c=0.2 t=1 --graph dot < mlp.ad > mlp.svg.dot
    dot -Tsvg mlp.svg.dot -o mlp.svg && rm mlp.svg.dot && echo "wrote examples/mlp.svg"
fi
