import * as tf from '@tensorflow/tfjs';
import { WebgpuBackendLike } from './backendInterfaces';
import { setFusedKernelCondition } from './fusedKernel';
import {
  AttentionAttrs,
  AttentionGeometry,
  AttentionGradAttrs,
  SAG_ATTENTION,
  SAG_ATTENTION_GRAD,
  attentionGeometry,
  checkAttentionGradients,
} from './attentionOp';

/**
 * SagAttention and SagAttentionGrad on webgpu, in the manner of FlashAttention: each thread owns one row (a query, or
 * for dk and dv a key) and walks over the other side in tiles that its workgroup loads into workgroup memory, with an
 * online softmax, so that no [Tq, Tk] tensor is ever stored (the primitive form's probabilities for SD's 64x64
 * latents take 1 GiB per attention, beyond many devices' largest storage binding). The backward pass is a
 * statistics pass (log-sum-exp and rowsum(dO O) per query), then one pass per wanted gradient.
 * Programs follow tfjs-backend-webgpu's WebGPUProgram contract (see groupNormWebgpuKernels.ts).
 */

type Pass = 'forward' | 'stats' | 'dq' | 'dk' | 'dv';

const WORKGROUP = 64;
/** Floats of workgroup memory the tiles may take (WebGPU guarantees 16 KiB). */
const TILE_FLOATS = 4096;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;
const UNIFORMS = 'batch : i32, queries : i32, keys : i32, heads : i32, width : i32, scale : f32,';
/**
 * A thread keeps two or three rows of headDim floats in registers; beyond this (the VAE's single 512-wide head) they
 * would spill to memory, and the primitive form runs instead unless it cannot (see webgpuAttentionKernelRuns).
 */
export const MAX_WEBGPU_ATTENTION_HEAD_DIM = 160;

/**
 * When SagAttention runs the WGSL kernels on webgpu ($SAG_WEBGPU_ATTENTION): 'auto' (default) only where the
 * primitive form cannot run, its [B, H, Tq, Tk] probabilities being larger than one storage binding of the device
 * (SD at 768x768: 5.4 GiB at batch 2); 'kernel' wherever the head fits (see MAX_WEBGPU_ATTENTION_HEAD_DIM).
 * On lavapipe the kernels took 1.8x (forward) and 3.5x (all three gradients) the primitive form's time at [2, 1024
 * tokens, 8 heads of 40]: their per-thread loops do not match tfjs's register-tiled matrix products. Not yet timed
 * on a GPU (docs/measurements/todo-gpu-fused-ops). Either way the VJP graph holds O(T) per attention: the primitive
 * form's probabilities live only inside one SagAttention or SagAttentionGrad node.
 */
export type WebgpuAttentionPolicy = 'auto' | 'kernel';
export const WEBGPU_ATTENTION_VARIABLE = 'SAG_WEBGPU_ATTENTION';

let policyOverride: WebgpuAttentionPolicy | null = null;

/** Sets the policy for this process (null: $SAG_WEBGPU_ATTENTION again). */
export function setWebgpuAttentionPolicy(policy: WebgpuAttentionPolicy | null): void {
  policyOverride = policy;
}

export function webgpuAttentionPolicy(): WebgpuAttentionPolicy {
  if (policyOverride) return policyOverride;
  const setting = typeof process === 'undefined' ? undefined : process.env[WEBGPU_ATTENTION_VARIABLE];
  if (setting === undefined || setting === '' || setting === 'auto') return 'auto';
  if (setting === 'kernel') return 'kernel';
  throw new Error(`$${WEBGPU_ATTENTION_VARIABLE}: expected 'auto' or 'kernel', got '${setting}'`);
}

/**
 * Whether the WGSL kernels run for attention of this geometry, given the device's largest storage binding in bytes
 * (the smaller of maxStorageBufferBindingSize and maxBufferSize).
 */
export function webgpuAttentionKernelRuns(
  geo: Pick<AttentionGeometry, 'batch' | 'queries' | 'keys' | 'heads' | 'headDim'>,
  largestBindingBytes: number,
  policy: WebgpuAttentionPolicy,
): boolean {
  const probabilityBytes = 4 * geo.batch * geo.heads * geo.queries * geo.keys;
  if (probabilityBytes > largestBindingBytes) return true;
  return policy === 'kernel' && geo.headDim <= MAX_WEBGPU_ATTENTION_HEAD_DIM;
}

function largestBindingBytes(): number {
  const limits = (tf.backend() as unknown as { device?: { limits?: Record<string, number> } }).device?.limits;
  if (!limits) return Infinity;
  return Math.min(limits.maxStorageBufferBindingSize ?? Infinity, limits.maxBufferSize ?? Infinity);
}

/** Passes whose thread owns a key row and walks over the queries (the others own a query row). */
const perKey = (pass: Pass) => pass === 'dk' || pass === 'dv';

/** Rows of the other side per tile: two rows of headDim floats each (plus two statistics for dk, dv). */
function tileRows(pass: Pass, headDim: number): number {
  const perRow = 2 * headDim + (perKey(pass) ? 2 : 0);
  return Math.max(1, Math.min(WORKGROUP, Math.floor(TILE_FLOATS / perRow)));
}

/** The programs' inputs, by pass (WebGPU refuses a bind group with a binding the shader does not use). */
const INPUTS: Record<Pass, string[]> = {
  forward: ['q', 'k', 'v'],
  stats: ['q', 'k', 'v', 'dy'],
  dq: ['q', 'k', 'v', 'dy', 'stats'],
  dk: ['q', 'k', 'v', 'dy', 'stats'],
  dv: ['q', 'k', 'dy', 'stats'],
};

/** Loop over the head's columns. */
const overColumns = (d: number, body: string) => `for (var d = 0; d < ${d}; d = d + 1) { ${body} }`;
/** sum_d own[d] tile[offset + d]. */
const dot = (d: number, name: string, own: string, tile: string) =>
  `var ${name} = 0.0;\n        ${overColumns(d, `${name} = ${name} + ${own}[d] * ${tile}[offset + d];`)}`;

/** Per pass: the thread's own row data, the work per row of the other side, and what it writes. */
function passCode(pass: Pass, d: number): { own: string; pair: string; finish: string } {
  const rowAt = (tensor: string) => `${tensor}[rowStart + d]`;
  const load = (name: string, tensor: string, scaled = false) =>
    `var ${name} : array<f32, ${d}>;\n    if (live) { ${overColumns(d, `${name}[d] = ${rowAt(tensor)}${scaled ? ' * uniforms.scale' : ''};`)} }`;
  const accumulator = `var acc : array<f32, ${d}>;\n    ${overColumns(d, 'acc[d] = 0.0;')}`;
  const write = (factor: string) => overColumns(d, `result[rowStart + d] = acc[d]${factor};`);
  const statsAt = 'let statsAt = (bh * uniforms.queries + row) * 2;';
  switch (pass) {
    case 'forward':
      return {
        own: `${load('own', 'q', true)}\n    ${accumulator}\n    var m = -3.4e38;\n    var l = 0.0;`,
        pair: `${dot(d, 's', 'own', 'tileA')}
        if (s > m) {
          let c = exp(m - s);
          l = l * c;
          ${overColumns(d, 'acc[d] = acc[d] * c;')}
          m = s;
        }
        let p = exp(s - m);
        l = l + p;
        ${overColumns(d, 'acc[d] = acc[d] + p * tileB[offset + d];')}`,
        finish: overColumns(d, 'result[rowStart + d] = acc[d] / l;'),
      };
    case 'stats':
      return {
        own: `${load('own', 'q', true)}\n    ${load('ownDy', 'dy')}\n    var m = -3.4e38;\n    var l = 0.0;\n    var w = 0.0;`,
        pair: `${dot(d, 's', 'own', 'tileA')}
        ${dot(d, 'dp', 'ownDy', 'tileB')}
        if (s > m) {
          let c = exp(m - s);
          l = l * c;
          w = w * c;
          m = s;
        }
        let p = exp(s - m);
        l = l + p;
        w = w + p * dp;`,
        finish: `${statsAt}\n    result[statsAt] = m + log(l);\n    result[statsAt + 1] = w / l;`,
      };
    case 'dq':
      return {
        own: `${load('own', 'q', true)}\n    ${load('ownDy', 'dy')}\n    ${accumulator}
    var lse = 0.0;
    var di = 0.0;
    if (live) {
      ${statsAt}
      lse = stats[statsAt];
      di = stats[statsAt + 1];
    }`,
        pair: `${dot(d, 's', 'own', 'tileA')}
        ${dot(d, 'dp', 'ownDy', 'tileB')}
        let ds = exp(s - lse) * (dp - di);
        ${overColumns(d, 'acc[d] = acc[d] + ds * tileA[offset + d];')}`,
        finish: write(' * uniforms.scale'),
      };
    case 'dk':
      return {
        own: `${load('own', 'k', true)}\n    ${load('ownV', 'v')}\n    ${accumulator}`,
        pair: `${dot(d, 's', 'own', 'tileA')}
        ${dot(d, 'dp', 'ownV', 'tileB')}
        let ds = exp(s - tileS[2 * j]) * (dp - tileS[2 * j + 1]);
        ${overColumns(d, 'acc[d] = acc[d] + ds * tileA[offset + d];')}`,
        finish: write(' * uniforms.scale'),
      };
    case 'dv':
      return {
        own: `${load('own', 'k', true)}\n    ${accumulator}`,
        pair: `${dot(d, 's', 'own', 'tileA')}
        let p = exp(s - tileS[2 * j]);
        ${overColumns(d, 'acc[d] = acc[d] + p * tileB[offset + d];')}`,
        finish: write(''),
      };
  }
}

function shaderCode(pass: Pass, d: number, tile: number): string {
  const keyRows = perKey(pass);
  // Own rows and the rows walked over: queries and keys, or the reverse for dk and dv.
  const [rows, others] = keyRows
    ? ['uniforms.keys', 'uniforms.queries']
    : ['uniforms.queries', 'uniforms.keys'];
  // The tiles: k and v rows, or for dk and dv q and dy rows with their statistics.
  const [tensorA, tensorB] = keyRows ? ['q', 'dy'] : ['k', 'v'];
  const { own, pair, finish } = passCode(pass, d);
  const loadStats = keyRows
    ? `for (var e = lane; e < ${tile}; e = e + ${WORKGROUP}) {
        let j = t0 + e;
        if (inRange && j < others) {
          let source = (bh * others + j) * 2;
          tileS[2 * e] = stats[source];
          tileS[2 * e + 1] = stats[source + 1];
        }
      }`
    : '';
  return `
  var<workgroup> tileA : array<f32, ${tile * d}>;
  var<workgroup> tileB : array<f32, ${tile * d}>;
  ${keyRows ? `var<workgroup> tileS : array<f32, ${2 * tile}>;` : ''}
  fn main(index : i32) {
    let workgroupIndex = index / ${WORKGROUP};
    let lane = i32(localIndex);
    let rows = ${rows};
    let others = ${others};
    let blocks = (rows + ${WORKGROUP - 1}) / ${WORKGROUP};
    let bh = workgroupIndex / blocks;
    // Workgroups past the last (image, head) only take part in the barriers.
    let inRange = bh < uniforms.batch * uniforms.heads;
    let b = bh / uniforms.heads;
    let column = (bh - b * uniforms.heads) * ${d};
    let row = (workgroupIndex - bh * blocks) * ${WORKGROUP} + lane;
    let live = inRange && row < rows;
    let rowStart = (b * rows + row) * uniforms.width + column;
    ${own}
    for (var t0 = 0; t0 < others; t0 = t0 + ${tile}) {
      for (var e = lane; e < ${tile * d}; e = e + ${WORKGROUP}) {
        let j = t0 + e / ${d};
        if (inRange && j < others) {
          let source = (b * others + j) * uniforms.width + column + e % ${d};
          tileA[e] = ${tensorA}[source];
          tileB[e] = ${tensorB}[source];
        }
      }
      ${loadStats}
      workgroupBarrier();
      if (live) {
        let count = min(${tile}, others - t0);
        for (var j = 0; j < count; j = j + 1) {
          let offset = j * ${d};
          ${pair}
        }
      }
      workgroupBarrier();
    }
    if (live) {
      ${finish}
    }
  }`;
}

function program(pass: Pass, geo: AttentionGeometry, outputShape: number[]): object {
  const tile = tileRows(pass, geo.headDim);
  const rows = perKey(pass) ? geo.keys : geo.queries;
  const groups = geo.batch * geo.heads * Math.ceil(rows / WORKGROUP);
  const x = Math.min(groups, MAX_WORKGROUPS_PER_DIMENSION);
  return {
    outputShape,
    shaderKey: `sagAttention_${pass}_${geo.headDim}_${tile}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [x, Math.ceil(groups / x), 1],
    workgroupSize: [WORKGROUP, 1, 1],
    variableNames: INPUTS[pass],
    uniforms: UNIFORMS,
    getUserCode: () => shaderCode(pass, geo.headDim, tile),
  };
}

function checkedInputs(inputs: tf.NamedTensorInfoMap, names: string[], heads: number) {
  const tensors = names.map((name) => {
    const t = inputs[name];
    if (!t || t.dtype !== 'float32') throw new Error(`${SAG_ATTENTION}: input '${name}' must be float32`);
    return t;
  });
  const geo = attentionGeometry(tensors[0], tensors[1], tensors[2], heads);
  if (geo.keys === 0) throw new Error(`${SAG_ATTENTION}: attention over zero keys`);
  return { tensors, geo };
}

function uniformsOf(geo: AttentionGeometry, scale: number) {
  const int = (value: number) => ({ type: 'int32' as const, data: [value] });
  return [
    int(geo.batch),
    int(geo.queries),
    int(geo.keys),
    int(geo.heads),
    int(geo.heads * geo.headDim),
    { type: 'float32' as const, data: [scale] },
  ];
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { heads, scale } = attrs as unknown as AttentionGradAttrs;
  const { tensors, geo } = checkedInputs(inputs, ['q', 'k', 'v'], heads);
  const gpu = backend as unknown as WebgpuBackendLike;
  return gpu.runWebGPUProgram(
    program('forward', geo, tensors[0].shape),
    tensors,
    'float32',
    uniformsOf(geo, scale),
  );
};

const gradientKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { heads, scale, gradients } = attrs as unknown as AttentionGradAttrs;
  checkAttentionGradients(gradients);
  const { tensors, geo } = checkedInputs(inputs, ['q', 'k', 'v', 'dy'], heads);
  const [q, k] = tensors;
  if (!tf.util.arraysEqual(tensors[3].shape, q.shape))
    throw new Error(`${SAG_ATTENTION_GRAD}: dy [${tensors[3].shape}] must have q's shape [${q.shape}]`);
  const gpu = backend as unknown as WebgpuBackendLike;
  const uniforms = uniformsOf(geo, scale);
  const byName: Record<string, tf.TensorInfo> = Object.fromEntries(
    ['q', 'k', 'v', 'dy'].map((name, i) => [name, tensors[i]]),
  );
  const run = (pass: Pass, shape: number[]) =>
    gpu.runWebGPUProgram(
      program(pass, geo, shape),
      INPUTS[pass].map((name) => byName[name]),
      'float32',
      uniforms,
    );
  byName.stats = run('stats', [geo.batch * geo.heads * geo.queries, 2]);
  const passes: Record<string, [Pass, number[]]> = {
    q: ['dq', q.shape],
    k: ['dk', k.shape],
    v: ['dv', k.shape],
  };
  const grads = gradients.split('').map((input) => run(...passes[input]));
  gpu.disposeData(byName.stats.dataId);
  return grads;
};

export const ATTENTION_WEBGPU_KERNELS: tf.KernelConfig[] = [
  { kernelName: SAG_ATTENTION, backendName: 'webgpu', kernelFunc: forwardKernel },
  { kernelName: SAG_ATTENTION_GRAD, backendName: 'webgpu', kernelFunc: gradientKernel },
];

for (const kernelName of [SAG_ATTENTION, SAG_ATTENTION_GRAD])
  setFusedKernelCondition(kernelName, 'webgpu', (inputs, attrs) => {
    const { q, k, v } = inputs ?? {};
    if (!q || !k || !v || !attrs) return webgpuAttentionPolicy() === 'kernel';
    const geo = attentionGeometry(q, k, v, (attrs as AttentionAttrs).heads);
    return webgpuAttentionKernelRuns(geo, largestBindingBytes(), webgpuAttentionPolicy());
  });
