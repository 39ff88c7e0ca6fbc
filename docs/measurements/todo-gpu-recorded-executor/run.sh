#!/bin/bash
# Prepared for a session with a lent GPU (not yet run): the recorded executor against tfjs issuing every op, on the
# SD v1.5-sized UNet (fp32, 64x64 latents), with the PyTorch + diffusers anchor in the same call.
# Run from the repository root as `bash docs/measurements/todo-gpu-recorded-executor/run.sh`, with `.device/` (a copy
# of the device kit, holding nm.tar.xz: the production node_modules, and diffusers.tar.xz) and `dist/` carried.
cd "$(dirname "$0")/../../.."
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a "$OUT/steps.log"; }
. .device/setup.sh > /dev/null
tar xJf .device/nm.tar.xz
mkdir -p /tmp/dif && tar xJf .device/diffusers.tar.xz -C /tmp/dif
nvidia-smi -L | tee -a "$OUT/steps.log"
stamp torch
PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/dif/src timeout 80 python3 .device/torch_anchor.py fp32 > "$OUT/torch.log" 2>&1
stamp executors
# One process, both executors in turn: forward b=1/2, input VJP (tf.grad and VJP graph), SAG n = 4 symplectic.
timeout 420 node dist/bin/sag.js bench unet --backend webgpu --scale 1 --latent 64 --n 4 --methods symplectic \
  --repeats 2 --executor tfjs,recorded > "$OUT/unet.log" 2> "$OUT/unet.err"
echo "rc $?" >> "$OUT/unet.log"
stamp done
grep -v "^There are" "$OUT/torch.log"; tail -5 "$OUT/unet.err"; cat "$OUT/unet.log" "$OUT/steps.log"
