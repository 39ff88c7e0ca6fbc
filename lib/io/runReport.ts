/** A run report as the JSON text written to --report. */
export function runReportJson(report: Record<string, unknown>): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
