import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { ApiModels } from '../../lib/api/apiModels';
import { startApiServer } from '../../lib/api/a1111Server';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import { packageRoot } from '../../lib/packageRoot';
import { startPageServer } from '../../lib/serve/pageServer';
import { guarded } from '../cliErrors';
import { parseInteger } from '../optionParsers';

interface BundleSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

function bundleSizeLine(pageDir: string): string {
  const file = path.join(pageDir, 'bundle-size.json');
  if (!fs.existsSync(file)) return '';
  const sizes = JSON.parse(fs.readFileSync(file, 'utf8')) as BundleSize[];
  const script = sizes.find((s) => s.file.endsWith('.js'));
  if (!script) return '';
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  return ` (bundle ${script.file}: ${mib(script.bytes)} MiB, ${mib(script.gzipBytes)} MiB gzipped)`;
}

interface ServeFlags {
  port?: number;
  host: string;
  api?: boolean;
  models?: string[];
  clip?: string;
  classifier?: string;
  apiAuth?: string;
  backend: string;
}

async function serveApi(flags: ServeFlags): Promise<void> {
  if (flags.apiAuth !== undefined && !/^[^:]+:.+$/.test(flags.apiAuth))
    throw new Error('--api-auth: expected user:password');
  for (const dir of flags.models ?? [])
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
      throw new Error(`--models ${dir}: not a folder (give 'sag convert sd' output folders)`);
  const backend = await startBackend(parseBackendChoice(flags.backend));
  const models = new ApiModels(flags.models ?? [], {
    backend: parseBackendChoice(backend.name),
    clip: flags.clip,
    classifier: flags.classifier,
  });
  const server = await startApiServer({
    models,
    host: flags.host,
    port: flags.port ?? 7860,
    auth: flags.apiAuth ?? null,
    backendName: () => backend.name,
  });
  if (!flags.apiAuth && !['127.0.0.1', 'localhost', '::1'].includes(flags.host))
    process.stderr.write(
      `warning: --host ${flags.host} lets other machines in and --api-auth is not set: anyone who reaches this port can run generations\n`,
    );
  process.stdout.write(
    `sag API (AUTOMATIC1111-compatible /sdapi/v1): ${server.url}; models: ${models.list.map((m) => m.title).join(', ')}; Ctrl-C stops\n`,
  );
  const stop = () => {
    server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'serve the interactive page (the embedded digit models sampled and guided in the browser), or with --api an HTTP API compatible with the AUTOMATIC1111 web UI (/sdapi/v1) for existing front ends',
    )
    .option(
      '--port <port>',
      'port (0: any free port; default 8080, with --api 7860)',
      parseInteger('--port', 0, 65535),
    )
    .option('--host <host>', 'address to listen on (0.0.0.0 to let other machines in)', '127.0.0.1')
    .option('--api', 'serve the AUTOMATIC1111-compatible API instead of the page')
    .option(
      '--models <dir...>',
      "--api: 'sag convert sd' folders to serve (default: the embedded digit model)",
    )
    .option('--clip <dir>', '--api: a converted CLIP for style, clip and object guidance')
    .option('--classifier <dir>', '--api: an image classifier for class guidance')
    .option('--api-auth <user:password>', '--api: require HTTP Basic auth')
    .addOption(
      new Option('--backend <name>', '--api: compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .action(
      guarded(async (flags: ServeFlags) => {
        if (flags.api) return serveApi(flags);
        for (const apiOnly of ['models', 'clip', 'classifier', 'apiAuth'] as const)
          if (flags[apiOnly] !== undefined)
            throw new Error(`--${apiOnly === 'apiAuth' ? 'api-auth' : apiOnly}: only with --api`);
        const pageDir = path.join(packageRoot(), 'dist', 'web');
        const server = await startPageServer({
          pageDir,
          weightsDir: path.join(packageRoot(), 'weights'),
          port: flags.port ?? 8080,
          host: flags.host,
        });
        process.stdout.write(`sag page: ${server.url}${bundleSizeLine(pageDir)}; Ctrl-C stops\n`);
        const stop = () => {
          server.close().then(() => process.exit(0));
          // Browsers keep connections open; do not wait for them.
          setTimeout(() => process.exit(0), 500).unref();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );
}
