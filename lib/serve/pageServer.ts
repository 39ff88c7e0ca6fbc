import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import sirv from 'sirv';

/** The weights the page loads: the embedded models and the example style images (not the training data). */
export const SERVED_WEIGHTS = ['digit-unet', 'digit-classifier', 'digit-evaluator', 'examples'];

/**
 * Cross-origin isolation: the page may then use SharedArrayBuffer, which multithreaded wasm needs; everything is
 * same-origin, so nothing the page loads is blocked.
 */
export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface PageServer {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the built page (`pageDir`, from `npm run build`) at / and the embedded models at /weights/, with the
 * isolation headers; nothing else of the file system.
 */
export async function startPageServer(options: {
  pageDir: string;
  weightsDir: string;
  port: number;
  host: string;
}): Promise<PageServer> {
  if (!fs.existsSync(path.join(options.pageDir, 'index.html')))
    throw new Error(`${options.pageDir}: the page is not built (run 'npm run build')`);
  const setHeaders = (res: http.ServerResponse) => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
  };
  const page = sirv(options.pageDir, { dev: true, setHeaders });
  const weights = sirv(options.weightsDir, { dev: true, setHeaders });
  const notFound = (res: http.ServerResponse) => {
    setHeaders(res);
    res.statusCode = 404;
    res.end('not found');
  };
  const server = http.createServer((req, res) => {
    let pathname: string;
    try {
      pathname = path.posix.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://page').pathname));
    } catch {
      return notFound(res);
    }
    if (pathname.startsWith('/weights/')) {
      const name = pathname.slice('/weights/'.length).split('/')[0];
      if (!SERVED_WEIGHTS.includes(name)) return notFound(res);
      req.url = pathname.slice('/weights'.length);
      return weights(req, res, () => notFound(res));
    }
    return page(req, res, () => notFound(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `--port ${options.port}: already in use on ${options.host} (choose another, or 0 for any free port)`
            : `--host ${options.host} --port ${options.port}: ${error.message}`,
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
