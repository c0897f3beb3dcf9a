#!/bin/sh
# autodiff in shell pipelines with jq.   Run: sh examples/pipeline.sh
set -eu
cd "$(dirname "$0")"

# 1. Which jobs of a batch failed, and why?
autodiff batch jobs.jsonl --json --quiet \
  | jq -r 'select(.error) | "line \(.line) (\(.id)): \(.error.kind) error: \(.error.message)"'

# 2. Sweep a curve, turn every point into a batch job (its tangent line), run the
#    batch, and keep the steepest tangent.
autodiff eval "x^3 - 3*x" x=-2:2:0.5 --format jsonl \
  | jq -c '{id: "tangent at \(.inputs.x)", expr: "\(.gradients.x) * (t - \(.inputs.x)) + \(.value)", vars: {t: 0}}' \
  | autodiff batch --json --quiet \
  | jq -s -r 'max_by(.gradients.t) | "\(.id): slope \(.gradients.t), meets t=0 at \(.value)"'
