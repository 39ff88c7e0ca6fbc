import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { parseParameters } from '../../lib/io/generationParameters';
import { readPngTextChecked } from '../../lib/io/pngText';
import { guarded } from '../cliErrors';

interface WeightsManifest {
  weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  modelTopology?: { node?: { name: string }[] };
  userDefinedMetadata?: {
    sagVjp?: { wrt: string; outputs: string[] };
    sagVjpControlled?: { wrt: string; outputs: string[] };
  };
}

function directorySize(dir: string): number {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce(
      (sum, e) =>
        sum +
        (e.isDirectory() ? directorySize(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size),
      0,
    );
}

/** One line per graph model under `dir`: parameters, stored dtypes, nodes, size on disk. */
function describeComponents(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'model.json')))
    .map((e) => {
      const model = JSON.parse(
        fs.readFileSync(path.join(dir, e.name, 'model.json'), 'utf8'),
      ) as WeightsManifest;
      // The VJP graph's constants (flipped kernels) and nodes are named vjp/...: not parameters of the network.
      const isVjp = (name: string) => name.startsWith('vjp/') || name.startsWith('vjp-const/');
      const weights = (model.weightsManifest ?? []).flatMap((m) => m.weights).filter((w) => !isVjp(w.name));
      const parameters = weights
        .filter((w) => w.dtype !== 'int32')
        .reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
      const dtypes = [...new Set(weights.filter((w) => w.dtype !== 'int32').map((w) => w.dtype))].join('/');
      const mib = directorySize(path.join(dir, e.name)) / 2 ** 20;
      const nodes = model.modelTopology?.node ?? [];
      const forwardNodes = nodes.filter((n) => !isVjp(n.name)).length;
      const vjp = model.userDefinedMetadata?.sagVjp;
      const controlled = model.userDefinedMetadata?.sagVjpControlled;
      const also = controlled ? `, and of ${controlled.outputs.join(', ')} (ControlNet residuals)` : '';
      const vjpText = vjp
        ? `; VJP graph w.r.t. ${vjp.wrt} of ${vjp.outputs.join(', ')}${also} (${nodes.length - forwardNodes} more nodes)`
        : '; no VJP graph';
      return `  ${e.name}: ${(parameters / 1e6).toFixed(2)} M parameters (${dtypes}), ${forwardNodes} graph nodes, ${mib.toFixed(1)} MiB${vjpText}`;
    });
}

function describeModelDirectory(dir: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'sag.json'), 'utf8')) as Record<string, unknown>;
  const { format, source, ...rest } = manifest;
  const lines = [`${dir}: ${String(format)}`, ...describeComponents(dir)];
  if (source !== undefined) lines.push(`source: ${JSON.stringify(source)}`);
  for (const [k, v] of Object.entries(rest)) lines.push(`${k}: ${JSON.stringify(v)}`);
  return lines.join('\n');
}

/** The settings a sag PNG records: the lines other tools show, then every setting needed to run it again. */
function describeImage(file: string, asJson: boolean): string {
  const text = readPngTextChecked(fs.readFileSync(file), file).parameters;
  if (text === undefined)
    throw new Error(`${file}: no generation settings recorded (sag writes them into PNG outputs only)`);
  const recorded = parseParameters(text);
  if (asJson) return JSON.stringify(recorded ?? { parameters: text }, null, 2);
  // A1111's layout starts with the prompt and a negative-prompt line: shown only when they say something.
  const human = text
    .split('\n')
    .filter((l) => !l.startsWith('sag: '))
    .filter((l, i) => !(i === 0 && l.trim() === '') && l.trim() !== 'Negative prompt:');
  if (!recorded) return human.join('\n');
  const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const settings = [
    ...Object.entries(recorded.options).map(([k, v]) => `  ${k}: ${shown(v)}`),
    ...Object.entries(recorded.models).map(([k, v]) => `  ${k}: ${v ?? 'embedded'}`),
    ...(recorded.compare ? [`  compare: ${recorded.compare.join(',')}`] : []),
    `  upscale: ${recorded.upscale}`,
    `  made by: sag ${recorded.sagVersion} on ${recorded.environment?.backend ?? recorded.backend}${recorded.environment ? `, tfjs ${recorded.environment.tfjs}` : ''}`,
  ];
  return [
    ...human,
    'settings:',
    ...settings,
    `rerun: sag ${recorded.command} --from ${file} --out <file.png>`,
  ].join('\n');
}

export function infoCommand(): Command {
  return new Command('info')
    .description(
      'show the settings recorded in a PNG written by sag, or describe a converted model directory',
    )
    .argument('<path>', 'a PNG image or a model directory (with sag.json)')
    .option('--json', "a PNG's recorded settings as JSON")
    .action(
      guarded(async (target: string, flags: { json?: boolean }) => {
        if (!fs.existsSync(target)) throw new Error(`${target}: not found`);
        const isModel = fs.statSync(target).isDirectory();
        if (isModel && !fs.existsSync(path.join(target, 'sag.json')))
          throw new Error(`${target}: not a converted model directory (no sag.json)`);
        process.stdout.write(
          `${isModel ? describeModelDirectory(target) : describeImage(target, flags.json ?? false)}\n`,
        );
      }),
    );
}
