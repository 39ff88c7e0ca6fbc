#!/bin/bash
# One device call: PyTorch anchor, then sag's conv and UNet benchmarks on webgpu, then determinism of generate.
cd "$(dirname "$0")/.."
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a $OUT/steps.log; }
. .device/setup.sh
tar xJf .device/nm.tar.xz
mkdir -p /tmp/dif && tar xJf .device/diffusers.tar.xz -C /tmp/dif
nvidia-smi -L | tee -a $OUT/steps.log
nvidia-smi --query-gpu=timestamp,memory.used --format=csv -lms 250 > $OUT/smi.csv &
SMI=$!
stamp torch
PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/dif/src timeout 170 python3 .device/torch_anchor.py fp32 > $OUT/torch.log 2>&1; echo "rc $?" >> $OUT/torch.log
stamp conv
timeout 60 node dist/bin/sag.js bench conv --backend webgpu --repeats 5 > $OUT/conv.log 2>&1; echo "rc $?" >> $OUT/conv.log
stamp unet
timeout ${UNET_S:-290} node dist/bin/sag.js bench unet --backend webgpu --n ${UNET_N:-1,4,8} --repeats 2 > $OUT/unet.log 2>&1; echo "rc $?" >> $OUT/unet.log
stamp generate
{
  timeout 40 node dist/bin/sag.js generate --backend webgpu --guidance class --target 7 --num 4 --out $OUT/sevens-webgpu.png && \
  timeout 30 node dist/bin/sag.js generate --backend webgpu --guidance class --target 7 --num 4 --out /tmp/sevens-webgpu-2.png && \
  node .device/cmp.js $OUT/sevens-webgpu.png /tmp/sevens-webgpu-2.png && \
  timeout 70 node dist/bin/sag.js generate --backend wasm --guidance class --target 7 --num 4 --out /tmp/sevens-wasm.png && \
  node .device/cmp.js $OUT/sevens-webgpu.png /tmp/sevens-wasm.png
} > $OUT/generate.log 2>&1; echo "rc $?" >> $OUT/generate.log
stamp done
kill $SMI
echo "peak GPU memory used (MiB): $(cut -d, -f2 $OUT/smi.csv | grep -o '[0-9]*' | sort -n | tail -1)" | tee -a $OUT/steps.log
echo ==== torch; cat $OUT/torch.log; echo ==== conv; cat $OUT/conv.log; echo ==== unet; cat $OUT/unet.log; echo ==== generate; cat $OUT/generate.log; cat $OUT/steps.log
