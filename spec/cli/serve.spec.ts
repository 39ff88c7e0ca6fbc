import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { ISOLATION_HEADERS, startPageServer } from '../../lib/serve/pageServer';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';

const root = path.join(__dirname, '..', '..');

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** `sag serve --port 0` in its own process; resolves with the URL it prints. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'bin', 'sag.ts'), 'serve', ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const url = /sag page: (http:\/\/\S+?)[ ;(]/.exec(out)?.[1];
      if (url) resolve({ child, url });
    });
    child.on('exit', (code) => reject(new Error(`sag serve exited with ${code}: ${out}`)));
  });
}

describe('sag serve', () => {
  test('serves the built page and the embedded models with the isolation headers, and nothing else', async () => {
    const { child, url } = await startServe(['--port', '0']);
    try {
      const page = await get(url);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<script type="module" src="page.js">');
      for (const [name, value] of Object.entries(ISOLATION_HEADERS))
        expect(page.headers[name.toLowerCase()]).toBe(value);
      expect((await get(`${url}weights/digit-unet/sag.json`)).status).toBe(200);
      expect((await get(`${url}weights/examples/digit-style-0.png`)).status).toBe(200);
      expect((await get(`${url}wasm/tfjs-backend-wasm-threaded-simd.wasm`)).status).toBe(200);
      // Training code and data, and anything outside the served folders, are not served.
      expect((await get(`${url}weights/train/trainDiffusion.ts`)).status).toBe(404);
      expect((await get(`${url}weights/examples/..%2Ftrain%2FtrainDiffusion.ts`)).status).toBe(404);
      expect((await get(`${url}../package.json`)).status).toBe(404);
      const stopped = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGINT');
      expect(await stopped).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  test('a port in use or a bad port is one error line and a non-zero exit', async () => {
    const dir = makeTempDir('serve');
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
    const server = await startPageServer({ pageDir: dir, weightsDir: dir, port: 0, host: '127.0.0.1' });
    try {
      const port = new URL(server.url).port;
      const run = await runCli(['serve', '--port', port]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(new RegExp(`--port ${port}: already in use on 127.0.0.1`));
      const bad = await runCli(['serve', '--port', 'eighty']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--port: expected an integer in \[0, 65535\], got 'eighty'/);
    } finally {
      await server.close();
    }
  });

  test('an unbuilt page is an error that says how to build it', async () => {
    const dir = makeTempDir('serve-empty');
    await expect(
      startPageServer({ pageDir: dir, weightsDir: dir, port: 0, host: '127.0.0.1' }),
    ).rejects.toThrow(`${dir}: the page is not built (run 'npm run build')`);
  });
});
