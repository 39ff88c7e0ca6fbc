import * as fs from 'fs';
import * as protobuf from 'protobufjs';
import { float16ToFloat32 } from '../../lib/io/halfFloat';
import { ONNX_PROTO } from './onnxSchema';

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** float tensors as float32, integer tensors as plain numbers. */
  data: Float32Array | number[];
  isFloat: boolean;
}

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  dims: (number | null)[];
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number;
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const FLOAT16 = 10;
const DOUBLE = 11;

let modelType: protobuf.Type | null = null;

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: () => number }).toNumber === 'function')
    return (v as { toNumber: () => number }).toNumber();
  return Number(v);
}

function decodeTensor(raw: Record<string, unknown>, source: string): OnnxTensor {
  const name = (raw.name as string) ?? '';
  const dims = ((raw.dims as unknown[]) ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  const type = raw.data_type as number;
  if (raw.data_location === 1)
    throw new Error(`${source}: tensor '${name}' uses external data, which is not supported`);
  const bytes = raw.raw_data as Uint8Array | undefined;
  const view = bytes && bytes.length ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  switch (type) {
    case FLOAT: {
      const data = new Float32Array(count);
      if (view) for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
      else data.set((raw.float_data as number[]) ?? []);
      return { name, dims, data, isFloat: true };
    }
    case FLOAT16: {
      const data = new Float32Array(count);
      if (view) for (let i = 0; i < count; i++) data[i] = float16ToFloat32(view.getUint16(i * 2, true));
      else ((raw.int32_data as number[]) ?? []).forEach((bits, i) => (data[i] = float16ToFloat32(bits)));
      return { name, dims, data, isFloat: true };
    }
    case DOUBLE: {
      const data = new Float32Array(count);
      if (view) for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
      else data.set((raw.double_data as number[]) ?? []);
      return { name, dims, data, isFloat: true };
    }
    case INT64: {
      const data: number[] = [];
      if (view) for (let i = 0; i < count; i++) data.push(Number(view.getBigInt64(i * 8, true)));
      else for (const v of (raw.int64_data as unknown[]) ?? []) data.push(toNumber(v));
      return { name, dims, data, isFloat: false };
    }
    case INT32: {
      const data: number[] = [];
      if (view) for (let i = 0; i < count; i++) data.push(view.getInt32(i * 4, true));
      else data.push(...((raw.int32_data as number[]) ?? []));
      return { name, dims, data, isFloat: false };
    }
    default:
      throw new Error(`${source}: tensor '${name}' has unsupported ONNX data type ${type}`);
  }
}

function valueInfo(raw: Record<string, unknown>): OnnxValueInfo {
  const shape = ((raw.type as Record<string, Record<string, unknown>> | undefined)?.tensor_type?.shape ??
    {}) as {
    dim?: Record<string, unknown>[];
  };
  return {
    name: raw.name as string,
    dims: (shape.dim ?? []).map((d) =>
      d.dim_value !== undefined && d.dim_value !== null ? toNumber(d.dim_value) : null,
    ),
  };
}

/** Parses an ONNX model file (protobuf) into nodes, initializers and graph inputs/outputs. */
export function readOnnxModel(path: string): OnnxGraph {
  if (!fs.existsSync(path)) throw new Error(`${path}: ONNX model not found`);
  if (!modelType)
    modelType = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  let model: Record<string, unknown>;
  try {
    model = modelType.toObject(modelType.decode(fs.readFileSync(path)), {
      defaults: false,
      longs: Number,
      bytes: Buffer,
    }) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not a valid ONNX model (${(e as Error).message})`);
  }
  const graph = model.graph as Record<string, unknown> | undefined;
  if (!graph || !Array.isArray(graph.node)) throw new Error(`${path}: not a valid ONNX model (no graph)`);
  const opsetEntry = ((model.opset_import as Record<string, unknown>[]) ?? []).find((o) => !o.domain);
  const initializers = new Map<string, OnnxTensor>();
  for (const t of (graph.initializer as Record<string, unknown>[]) ?? []) {
    const tensor = decodeTensor(t, path);
    initializers.set(tensor.name, tensor);
  }
  const nodes: OnnxNode[] = (graph.node as Record<string, unknown>[]).map((n, index) => {
    const attributes = new Map<string, OnnxAttribute>();
    for (const a of (n.attribute as Record<string, unknown>[]) ?? []) {
      const attrName = a.name as string;
      attributes.set(attrName, {
        name: attrName,
        f: a.f as number | undefined,
        i: a.i !== undefined ? toNumber(a.i) : undefined,
        s: a.s !== undefined ? Buffer.from(a.s as Uint8Array).toString('utf8') : undefined,
        t: a.t ? decodeTensor(a.t as Record<string, unknown>, path) : undefined,
        floats: a.floats as number[] | undefined,
        ints: a.ints ? (a.ints as unknown[]).map(toNumber) : undefined,
      });
    }
    return {
      name: (n.name as string) || `${n.op_type as string}_${index}`,
      opType: n.op_type as string,
      inputs: (n.input as string[]) ?? [],
      outputs: (n.output as string[]) ?? [],
      attributes,
    };
  });
  const inputs = ((graph.input as Record<string, unknown>[]) ?? [])
    .map(valueInfo)
    .filter((v) => !initializers.has(v.name));
  return {
    nodes,
    initializers,
    inputs,
    outputs: ((graph.output as Record<string, unknown>[]) ?? []).map(valueInfo),
    opset: opsetEntry ? toNumber(opsetEntry.version) : 0,
  };
}
