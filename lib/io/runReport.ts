import { writeFileAtomically } from './atomicWrite';

/** Writes a run report (JSON) atomically. */
export function writeRunReport(file: string, report: Record<string, unknown>): void {
  writeFileAtomically(file, `${JSON.stringify(report, null, 2)}\n`);
}
