#!/bin/bash
# Device call 2: the PyTorch anchor (n = 1, 4) and sag bench unet on webgpu with its VJP graph, same call.
cd "$(dirname "$0")/.."
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/steps.log; }
. .device/setup.sh > /dev/null
tar xJf .device/nm.tar.xz
mkdir -p /tmp/dif && tar xJf .device/diffusers.tar.xz -C /tmp/dif
nvidia-smi -L | tee -a $OUT/steps.log
nvidia-smi --query-gpu=timestamp,memory.used --format=csv -lms 250 > $OUT/smi.csv &
SMI=$!
stamp torch
PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/dif/src timeout 80 python3 .device/torch_anchor_n14.py fp32 > $OUT/torch.log 2>&1; echo "rc $?" >> $OUT/torch.log
stamp unet
SAG_DEBUG=1 timeout 300 node dist/bin/sag.js bench unet --backend webgpu --n 1,4 --methods symplectic --repeats 2 --profile > $OUT/unet.log 2> >(while IFS= read -r l; do echo "[$(( $(date +%s) - T0 )) s] $l"; done > $OUT/unet.err); echo "rc $?" >> $OUT/unet.log
stamp done
kill $SMI
echo "peak GPU memory used (MiB): $(cut -d, -f2 $OUT/smi.csv | grep -o '[0-9]*' | sort -n | tail -1)" | tee -a $OUT/steps.log
grep -v "^There are" $OUT/torch.log; tail -30 $OUT/unet.err; grep -v "^  " $OUT/unet.log | head -30; cat $OUT/steps.log
