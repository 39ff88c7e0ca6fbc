import { ClassifierSpec } from './classifierSpec';
import { Ref } from '../graph/graphBuilder';
import { NnLayers } from '../graph/nnLayers';

/** Emits a digit classifier (weights/train/classifierModel.ts) from its checkpoint: logits and the style feature map. */
export function classifierGraph(
  nn: NnLayers,
  spec: ClassifierSpec,
  image: Ref,
): { logits: Ref; features: Ref } {
  const o = nn.ops;
  let h = image;
  let features: Ref | null = null;
  spec.convs.forEach((c, k) => {
    const y = nn.conv2d(h, c.name, c.stride, c.padding);
    h = c.activation === 'relu' ? o.unary('Relu', y) : o.unary('Tanh', y);
    if (k === spec.featureLayer) features = h;
  });
  let v = o.mean(h, [1, 2], false);
  spec.hidden.forEach((_, k) => {
    v = o.unary('Relu', nn.linear(v, `fc${k + 1}`));
  });
  return { logits: nn.linear(v, 'head'), features: features as unknown as Ref };
}
