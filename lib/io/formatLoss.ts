/**
 * A loss value for a caption: three significant digits, in exponent notation outside [0.01, 10000) so that the
 * text stays short and every digit shown is right (21922 -> "2.19e4", 1.9e-5 -> "1.90e-5", 0.5 -> "0.500").
 */
export function formatLoss(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 0.01 || magnitude >= 1e4))
    return value.toExponential(2).replace('e+', 'e');
  return value.toPrecision(3);
}
