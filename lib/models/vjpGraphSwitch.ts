/**
 * Whether the adjoints use the converter-written VJP graphs where a model has one (default), or tf.grad through
 * the forward graph (SAG_VJP_GRAPHS=0: for comparisons; the gradients are the same).
 */
export function useVjpGraphs(): boolean {
  return typeof process === 'undefined' || process.env.SAG_VJP_GRAPHS !== '0';
}
