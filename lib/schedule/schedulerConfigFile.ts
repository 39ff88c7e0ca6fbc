import * as fs from 'fs';
import { SchedulerConfig, parseSchedulerConfig } from './schedulerConfig';

/** Reads `scheduler_config.json` (a file, or a directory containing one). */
export function readSchedulerConfig(path: string): SchedulerConfig {
  let file = path;
  if (fs.existsSync(path) && fs.statSync(path).isDirectory()) file = `${path}/scheduler_config.json`;
  if (!fs.existsSync(file)) throw new Error(`${file}: scheduler config not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseSchedulerConfig(raw, file);
}
