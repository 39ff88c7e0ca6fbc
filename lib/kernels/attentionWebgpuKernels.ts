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
  attentionKernelInputs,
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
 * When SagAttention runs the WGSL kernels on webgpu ($SAG_WEBGPU_ATTENTION): 'kernel' (default) wherever a head fits
 * a thread (see MAX_WEBGPU_ATTENTION_HEAD_DIM); 'primitive' only where the primitive form cannot run, its
 * [B, H, Tq, Tk] probabilities being larger than one storage binding of the device (SD at 768x768: 5.3 GiB at
 * batch 2). Measured on lavapipe (warm, [2, 1024 tokens, 8 heads of 40]): forward 1041 against 1978 ms, dq alone
 * (cross-attention) 2082 against 3191 ms, all three gradients 4405 against 4377 ms. Not yet timed on a GPU
 * (docs/measurements/todo-gpu-fused-ops). Either way the VJP graph holds O(T) per attention: the primitive form's
 * probabilities live only inside one SagAttention or SagAttentionGrad node.
 */
export type WebgpuAttentionPolicy = 'kernel' | 'primitive';
export const WEBGPU_ATTENTION_VARIABLE = 'SAG_WEBGPU_ATTENTION';

let policyOverride: WebgpuAttentionPolicy | null = null;

/** Sets the policy for this process (null: $SAG_WEBGPU_ATTENTION again). */
export function setWebgpuAttentionPolicy(policy: WebgpuAttentionPolicy | null): void {
  policyOverride = policy;
}

export function webgpuAttentionPolicy(): WebgpuAttentionPolicy {
  if (policyOverride) return policyOverride;
  const setting = typeof process === 'undefined' ? undefined : process.env[WEBGPU_ATTENTION_VARIABLE];
  if (setting === undefined || setting === '' || setting === 'kernel') return 'kernel';
  if (setting === 'primitive') return 'primitive';
  throw new Error(`$${WEBGPU_ATTENTION_VARIABLE}: expected 'kernel' or 'primitive', got '${setting}'`);
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

/**
 * A head's columns as the shaders hold them: vec4s where headDim is a multiple of 4 (SD's 40, 80, 160; one
 * workgroup-memory load feeds four multiply-adds), else single floats.
 */
interface Columns {
  lanes: 1 | 4;
  /** headDim / lanes. */
  count: number;
  type: string;
  zero: string;
}

function columnsOf(headDim: number): Columns {
  return headDim % 4 === 0
    ? { lanes: 4, count: headDim / 4, type: 'vec4<f32>', zero: 'vec4<f32>(0.0)' }
    : { lanes: 1, count: headDim, type: 'f32', zero: '0.0' };
}

/** Loop over a row's columns (index c). */
const overColumns = (cols: Columns, body: string) =>
  `for (var c = 0; c < ${cols.count}; c = c + 1) { ${body} }`;

/** The column starting at float `at` of a tensor. */
const readColumn = (cols: Columns, tensor: string, at: string) =>
  cols.lanes === 4
    ? `vec4<f32>(${tensor}[${at}], ${tensor}[${at} + 1], ${tensor}[${at} + 2], ${tensor}[${at} + 3])`
    : `${tensor}[${at}]`;

/** sum_c own[c] . tile[offset + c], as the scalar `name`. */
function dot(cols: Columns, name: string, own: string, tile: string): string {
  const term = cols.lanes === 4 ? `dot(${own}[c], ${tile}[offset + c])` : `${own}[c] * ${tile}[offset + c]`;
  return `var ${name} = 0.0;
        ${overColumns(cols, `${name} = ${name} + ${term};`)}`;
}

/** Per pass: the thread's own row data, the work per row of the other side, and what it writes. */
function passCode(pass: Pass, cols: Columns): { own: string; pair: string; finish: string } {
  const load = (name: string, tensor: string, scaled = false) =>
    `var ${name} : array<${cols.type}, ${cols.count}>;
    if (live) { ${overColumns(cols, `${name}[c] = ${readColumn(cols, tensor, `rowStart + ${cols.lanes} * c`)}${scaled ? ' * uniforms.scale' : ''};`)} }`;
  const accumulator = `var acc : array<${cols.type}, ${cols.count}>;
    ${overColumns(cols, `acc[c] = ${cols.zero};`)}`;
  const accumulate = (weight: string, tile: string) =>
    overColumns(cols, `acc[c] = acc[c] + ${weight} * ${tile}[offset + c];`);
  const write = (value: string) =>
    cols.lanes === 4
      ? overColumns(
          cols,
          `let value = ${value};
      let at = rowStart + 4 * c;
      result[at] = value.x;
      result[at + 1] = value.y;
      result[at + 2] = value.z;
      result[at + 3] = value.w;`,
        )
      : overColumns(cols, `result[rowStart + c] = ${value};`);
  const statsAt = 'let statsAt = (bh * uniforms.queries + row) * 2;';
  switch (pass) {
    case 'forward':
      return {
        own: `${load('own', 'q', true)}
    ${accumulator}
    var m = -3.4e38;
    var l = 0.0;`,
        pair: `${dot(cols, 's', 'own', 'tileA')}
        if (s > m) {
          let rescale = exp(m - s);
          l = l * rescale;
          ${overColumns(cols, 'acc[c] = acc[c] * rescale;')}
          m = s;
        }
        let p = exp(s - m);
        l = l + p;
        ${accumulate('p', 'tileB')}`,
        finish: write('acc[c] / l'),
      };
    case 'stats':
      return {
        own: `${load('own', 'q', true)}
    ${load('ownDy', 'dy')}
    var m = -3.4e38;
    var l = 0.0;
    var w = 0.0;`,
        pair: `${dot(cols, 's', 'own', 'tileA')}
        ${dot(cols, 'dp', 'ownDy', 'tileB')}
        if (s > m) {
          let rescale = exp(m - s);
          l = l * rescale;
          w = w * rescale;
          m = s;
        }
        let p = exp(s - m);
        l = l + p;
        w = w + p * dp;`,
        finish: `${statsAt}
    result[statsAt] = m + log(l);
    result[statsAt + 1] = w / l;`,
      };
    case 'dq':
      return {
        own: `${load('own', 'q', true)}
    ${load('ownDy', 'dy')}
    ${accumulator}
    var lse = 0.0;
    var di = 0.0;
    if (live) {
      ${statsAt}
      lse = stats[statsAt];
      di = stats[statsAt + 1];
    }`,
        pair: `${dot(cols, 's', 'own', 'tileA')}
        ${dot(cols, 'dp', 'ownDy', 'tileB')}
        let ds = exp(s - lse) * (dp - di);
        ${accumulate('ds', 'tileA')}`,
        finish: write('acc[c] * uniforms.scale'),
      };
    case 'dk':
      return {
        own: `${load('own', 'k', true)}
    ${load('ownV', 'v')}
    ${accumulator}`,
        pair: `${dot(cols, 's', 'own', 'tileA')}
        ${dot(cols, 'dp', 'ownV', 'tileB')}
        let ds = exp(s - tileS[2 * j]) * (dp - tileS[2 * j + 1]);
        ${accumulate('ds', 'tileA')}`,
        finish: write('acc[c] * uniforms.scale'),
      };
    case 'dv':
      return {
        own: `${load('own', 'k', true)}
    ${accumulator}`,
        pair: `${dot(cols, 's', 'own', 'tileA')}
        let p = exp(s - tileS[2 * j]);
        ${accumulate('p', 'tileB')}`,
        finish: write('acc[c]'),
      };
  }
}

function shaderCode(pass: Pass, headDim: number, tile: number): string {
  const cols = columnsOf(headDim);
  const keyRows = perKey(pass);
  // Own rows and the rows walked over: queries and keys, or the reverse for dk and dv.
  const [rows, others] = keyRows
    ? ['uniforms.keys', 'uniforms.queries']
    : ['uniforms.queries', 'uniforms.keys'];
  // The tiles: k and v rows, or for dk and dv q and dy rows with their statistics.
  const [tensorA, tensorB] = keyRows ? ['q', 'dy'] : ['k', 'v'];
  const { own, pair, finish } = passCode(pass, cols);
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
  var<workgroup> tileA : array<${cols.type}, ${tile * cols.count}>;
  var<workgroup> tileB : array<${cols.type}, ${tile * cols.count}>;
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
    let column = (bh - b * uniforms.heads) * ${headDim};
    let row = (workgroupIndex - bh * blocks) * ${WORKGROUP} + lane;
    let live = inRange && row < rows;
    let rowStart = (b * rows + row) * uniforms.width + column;
    ${own}
    for (var t0 = 0; t0 < others; t0 = t0 + ${tile}) {
      for (var e = lane; e < ${tile * cols.count}; e = e + ${WORKGROUP}) {
        let j = t0 + e / ${cols.count};
        if (inRange && j < others) {
          let source = (b * others + j) * uniforms.width + column + ${cols.lanes} * (e % ${cols.count});
          tileA[e] = ${readColumn(cols, tensorA, 'source')};
          tileB[e] = ${readColumn(cols, tensorB, 'source')};
        }
      }
      ${loadStats}
      workgroupBarrier();
      if (live) {
        let count = min(${tile}, others - t0);
        for (var j = 0; j < count; j = j + 1) {
          let offset = j * ${cols.count};
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

/** The checked inputs and their geometry (the shaders divide by a softmax over at least one key). */
function checkedInputs(inputs: tf.NamedTensorInfoMap, names: string[], attrs: AttentionGradAttrs) {
  const checked = attentionKernelInputs(inputs, names, attrs);
  if (checked.geo.keys === 0) throw new Error(`${SAG_ATTENTION}: attention over zero keys`);
  return checked;
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
  const { scale } = attrs as unknown as AttentionGradAttrs;
  const { tensors, geo } = checkedInputs(inputs, ['q', 'k', 'v'], attrs as unknown as AttentionGradAttrs);
  const gpu = backend as unknown as WebgpuBackendLike;
  return gpu.runWebGPUProgram(
    program('forward', geo, tensors[0].shape),
    tensors,
    'float32',
    uniformsOf(geo, scale),
  );
};

const gradientKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { scale, gradients } = attrs as unknown as AttentionGradAttrs;
  const { tensors, geo } = checkedInputs(
    inputs,
    ['q', 'k', 'v', 'dy'],
    attrs as unknown as AttentionGradAttrs,
  );
  const [q, k] = tensors;
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
