import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
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

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'serve the interactive page: the embedded digit models sampled and guided in the browser, with the one-step and n-step estimates drawn at every step',
    )
    .option('--port <port>', 'port (0: any free port)', parseInteger('--port', 0, 65535), 8080)
    .option('--host <host>', 'address to listen on (0.0.0.0 to let other machines in)', '127.0.0.1')
    .action(
      guarded(async (flags: { port: number; host: string }) => {
        const pageDir = path.join(packageRoot(), 'dist', 'web');
        const server = await startPageServer({
          pageDir,
          weightsDir: path.join(packageRoot(), 'weights'),
          port: flags.port,
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
