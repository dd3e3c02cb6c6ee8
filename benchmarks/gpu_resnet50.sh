#!/usr/bin/env bash
# ResNet-50 on one GPU: float32 / mixed_float16 x XLA off / on, synthetic data, fixed batch.
#
# Usage: benchmarks/gpu_resnet50.sh [results.jsonl]      (BATCH, STEPS, WARMUP, PYTHON, DEVICE, EXTRA override)
# Prints the tf_cnn_benchmarks-style matrix with each run's ratio to float32 without XLA (the
# lab's goal: mixed precision + XLA >= 2.5x) and the best run's share of the published figure
# for the GPU class (V100 1270, A100-40G 2375 img/s TensorFlow; H100 ~7000 MLPerf ceiling).
# That share compares our synthetic-data runs (batches drawn inside the step, no input pipeline)
# with figures published for real ImageNet data: an upper bound of ours against theirs.
# Then the peer comparison (benchmarks/resnet50_peer.py): tfcourse's ResNet-50 next to
# keras.applications.ResNet50 on the same synthetic batches with the same step and optimizer,
# float32 and mixed_float16 (PEER_PRECISIONS), batch PEER_BATCH, capped at PEER_TIMEOUT s.
# Budget: four runs, each capped at RUN_TIMEOUT s (default 105), and the peer run (default
# 240 s): under 12 minutes in all.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
DEVICE=${DEVICE:-gpu}       # DEVICE=cpu EXTRA=--small: a quick dry run of this script without a GPU
if [ "$DEVICE" = cpu ]; then  # the dry run checks the script, not the CPU: a few small steps
  BATCH=${BATCH:-8}; STEPS=${STEPS:-3}; WARMUP=${WARMUP:-2}
fi
BATCH=${BATCH:-256}
STEPS=${STEPS:-100}
WARMUP=${WARMUP:-15}
RUN_TIMEOUT=${RUN_TIMEOUT:-105}
EXTRA=${EXTRA:-}
if [ "$DEVICE" = cpu ]; then  # the dry run: small peer images, the CPU's bfloat16 path
  PEER_BATCH=${PEER_BATCH:-4}; PEER_IMAGE_SIZE=${PEER_IMAGE_SIZE:-64}; PEER_STEPS=${PEER_STEPS:-1}
  PEER_ROUNDS=${PEER_ROUNDS:-1}; PEER_TIMEOUT=${PEER_TIMEOUT:-400}
  PEER_PRECISIONS=${PEER_PRECISIONS:-float32 mixed_bfloat16}
fi
PEER_BATCH=${PEER_BATCH:-$BATCH}
PEER_IMAGE_SIZE=${PEER_IMAGE_SIZE:-224}
PEER_PRECISIONS=${PEER_PRECISIONS:-float32 mixed_float16}
PEER_STEPS=${PEER_STEPS:-5}
PEER_ROUNDS=${PEER_ROUNDS:-2}
PEER_TIMEOUT=${PEER_TIMEOUT:-240}
OUT=${1:-${OUT:-gpu_resnet50.jsonl}}
export TF_CPP_MIN_LOG_LEVEL=2

"$PYTHON" -m tfcourse info | sed -n 1,9p  # sed reads to the end: no broken pipe
: > "$OUT.run"
for precision in float32 mixed_float16; do
  for xla in --no-xla --xla; do
    echo "== $precision $xla batch $BATCH" >&2
    timeout --kill-after=5 "$RUN_TIMEOUT" "$PYTHON" -m tfcourse bench resnet50 --device "$DEVICE" $EXTRA \
      --batch-size "$BATCH" --precision "$precision" $xla --steps "$STEPS" --warmup "$WARMUP" \
      --no-progress --output "$OUT.run" || echo "   ($precision $xla failed or ran past ${RUN_TIMEOUT}s)" >&2
  done
done
cat "$OUT.run" >> "$OUT"
echo
"$PYTHON" -m tfcourse bench report "$OUT.run" --options
rm -f "$OUT.run"
echo
echo "== peer: keras.applications.ResNet50, same step and data, batch $PEER_BATCH" >&2
# shellcheck disable=SC2086  # PEER_PRECISIONS is a list of words
timeout --kill-after=5 "$PEER_TIMEOUT" "$PYTHON" benchmarks/resnet50_peer.py --device "$DEVICE" \
  --batch-size "$PEER_BATCH" --image-size "$PEER_IMAGE_SIZE" --precisions $PEER_PRECISIONS --steps "$PEER_STEPS" --rounds "$PEER_ROUNDS" \
  --json "$OUT.peer.json" || echo "   (peer comparison failed or ran past ${PEER_TIMEOUT}s)" >&2
