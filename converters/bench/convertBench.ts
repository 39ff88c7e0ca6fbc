import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConversionOptions } from '../conversionOptions';
import { writeUnetGraph } from '../sd/convertStableDiffusion';
import { parseUnetConfig } from '../sd/unetGraph';
import { unetParameterShapes } from '../sd/unetParameters';
import { seededUniform, writeSafetensors } from '../weights/safetensorsWriter';
import { SD_V15_UNET_CONFIG } from './sdV15UnetConfig';
import { makeDirectories } from '../../lib/io/makeDirectories';

export interface ConvertBenchRow {
  model: string;
  parameters: number;
  checkpointBytes: number;
  writeCheckpointMs: number;
  convertMs: number;
  /** Peak resident memory of the converting process above its RSS just before the conversion started. */
  peakRssAboveBaselineBytes: number;
  baselineRssBytes: number;
  outputBytes: number;
  dtype: string;
}

/** Writes a random-weight diffusers UNet directory for `config`; returns its size and parameter count. */
export function writeSyntheticUnet(
  dir: string,
  config: Record<string, unknown>,
  seed = 0,
): { bytes: number; parameters: number } {
  makeDirectories(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const shapes = unetParameterShapes(parseUnetConfig(config, 'synthetic UNet config'));
  let parameters = 0;
  let k = 0;
  const bytes = writeSafetensors(
    path.join(dir, 'diffusion_pytorch_model.safetensors'),
    shapes,
    (name, shape, size) => {
      parameters += size;
      const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      return seededUniform(
        seed * 100003 + k++,
        size,
        name.endsWith('norm.weight') || /norm\d?\.weight$/.test(name) ? 1 : 1 / Math.sqrt(fanIn),
      );
    },
  );
  return { bytes, parameters };
}

function directorySize(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const p = path.join(dir, e.name);
    return sum + (e.isDirectory() ? directorySize(p) : fs.statSync(p).size);
  }, 0);
}

/**
 * Runs inside the child process of `sag bench convert`: converts one UNet directory and reports timings and
 * memory as JSON on stdout.
 */
export async function convertUnetMeasured(
  unetDir: string,
  outDir: string,
  options: ConversionOptions,
): Promise<Record<string, number>> {
  const config = parseUnetConfig(
    JSON.parse(fs.readFileSync(path.join(unetDir, 'config.json'), 'utf8')),
    unetDir,
  );
  if (global.gc) global.gc();
  const baselineRss = process.memoryUsage().rss;
  const start = performance.now();
  await writeUnetGraph(unetDir, outDir, config, { dtype: options.dtype });
  const convertMs = performance.now() - start;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  return { convertMs, baselineRss, peakRss };
}

/**
 * `sag bench convert`: writes a synthetic SD v1.5 UNet checkpoint (random weights, safetensors, diffusers layout),
 * converts it in a child process and reports time and peak RSS above the child's baseline.
 */
export function runConvertBench(options: {
  cliPath: string;
  dtype: 'float32' | 'float16';
  keep?: boolean;
  config?: Record<string, unknown>;
  log?: (s: string) => void;
}): ConvertBenchRow {
  const log = options.log ?? (() => undefined);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-bench-convert-'));
  try {
    const unetDir = path.join(tmp, 'unet');
    const outDir = path.join(tmp, 'converted');
    log(`writing a synthetic checkpoint to ${unetDir}`);
    const writeStart = performance.now();
    const { bytes, parameters } = writeSyntheticUnet(unetDir, options.config ?? SD_V15_UNET_CONFIG);
    const writeCheckpointMs = performance.now() - writeStart;
    log(`converting (${(bytes / 2 ** 30).toFixed(2)} GiB, ${(parameters / 1e6).toFixed(0)} M parameters)`);
    const child = spawnSync(
      process.execPath,
      [options.cliPath, 'bench', 'convert-child', unetDir, outDir, '--dtype', options.dtype],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0)
      throw new Error(
        `bench convert: the conversion process failed: ${(child.stderr || '').trim().split('\n').pop()}`,
      );
    const measured = JSON.parse(child.stdout.trim().split('\n').pop() as string) as Record<string, number>;
    return {
      model: options.config ? 'custom UNet' : 'SD v1.5 UNet (synthetic)',
      parameters,
      checkpointBytes: bytes,
      writeCheckpointMs,
      convertMs: measured.convertMs,
      peakRssAboveBaselineBytes: measured.peakRss - measured.baselineRss,
      baselineRssBytes: measured.baselineRss,
      outputBytes: directorySize(outDir),
      dtype: options.dtype,
    };
  } finally {
    if (!options.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
}

export function formatConvertBench(row: ConvertBenchRow): string {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines: [string, string][] = [
    ['model', row.model],
    ['parameters', `${(row.parameters / 1e6).toFixed(1)} M`],
    ['checkpoint (float32)', gib(row.checkpointBytes)],
    ['write checkpoint', `${(row.writeCheckpointMs / 1000).toFixed(1)} s`],
    ['convert', `${(row.convertMs / 1000).toFixed(1)} s`],
    [`output (${row.dtype})`, gib(row.outputBytes)],
    ['baseline RSS', gib(row.baselineRssBytes)],
    ['peak RSS above baseline', gib(row.peakRssAboveBaselineBytes)],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
