#!/bin/bash
# Prepared for a session with a lent GPU (not yet run): sag's fused ops on webgpu at SD v1.5 size, against the
# graph without fused attention, with the PyTorch + diffusers anchor in the same call.
# Run from the repository root as `bash docs/measurements/todo-gpu-fused-ops/run.sh`, with `.device/` (a copy of the
# device kit, holding nm.tar.xz: the production node_modules, and diffusers.tar.xz) and `dist/` carried.
cd "$(dirname "$0")/../../.."
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a "$OUT/steps.log"; }
. .device/setup.sh > /dev/null
tar xJf .device/nm.tar.xz
mkdir -p /tmp/dif && tar xJf .device/diffusers.tar.xz -C /tmp/dif
nvidia-smi -L | tee -a "$OUT/steps.log"
stamp torch
PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/dif/src timeout 80 python3 .device/torch_anchor.py fp32 > "$OUT/torch.log" 2>&1
stamp fused
# Each variant builds the UNet in its own process; one round keeps the call under 10 minutes. The WGSL attention
# kernels run by default; pass `primitive` as the first argument to time the primitive form inside SagAttention.
SAG_WEBGPU_ATTENTION=${1:-kernel} timeout 420 node dist/bin/sag.js bench fused --backend webgpu --scale 1 --latent 64 \
  --n 1 --rounds 1 --repeats 2 --compare groupnorm,all > "$OUT/fused.log" 2> "$OUT/fused.err"
echo "rc $?" >> "$OUT/fused.log"
stamp done
grep -v "^There are" "$OUT/torch.log"; tail -5 "$OUT/fused.err"; cat "$OUT/fused.log" "$OUT/steps.log"
