/** Encoders for the TensorFlow NodeDef attr values that tfjs-converter's graph-model JSON reads. */
export type AttrValue = Record<string, unknown>;

export const DT = { float32: 'DT_FLOAT', int32: 'DT_INT32' } as const;
export type GraphDtype = keyof typeof DT;

export const attr = {
  dtype: (dtype: GraphDtype): AttrValue => ({ type: DT[dtype] }),
  string: (value: string): AttrValue => ({ s: Buffer.from(value, 'utf8').toString('base64') }),
  int: (value: number): AttrValue => ({ i: String(value) }),
  float: (value: number): AttrValue => ({ f: value }),
  bool: (value: boolean): AttrValue => ({ b: value }),
  ints: (values: number[]): AttrValue => ({ list: { i: values.map(String) } }),
  shape: (dims: (number | null)[]): AttrValue => ({
    shape: { dim: dims.map((d) => ({ size: String(d ?? -1) })) },
  }),
};
