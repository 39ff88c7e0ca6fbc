import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { parseParameters } from '../io/generationParameters';
import { readPngText } from '../io/pngText';
import { packageVersion } from '../packageRoot';
import { API_SAMPLERS, API_SCHEDULERS, GenerationRequest, parseGenerationRequest } from './a1111Request';
import { ApiError } from './apiError';
import { ApiModels } from './apiModels';
import { GenerationJobs, GenerationOutcome } from './generationJobs';
import { requestImageBytes } from './requestImages';

/** The largest request body accepted (base64 images included); larger ones get 413. */
export const MAX_BODY_BYTES = 32 * 2 ** 20;

export interface ApiServerOptions {
  models: ApiModels;
  host: string;
  port: number;
  /** `user:password` for HTTP Basic auth on every endpoint, or null for none. */
  auth: string | null;
  backendName: () => string;
}

export interface ApiServer {
  url: string;
  jobs: GenerationJobs;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** FastAPI's error shape, which A1111 clients show: `{"detail": "..."}` (plus `error` for the newer ones). */
function sendError(res: http.ServerResponse, status: number, message: string): void {
  send(res, status, { error: http.STATUS_CODES[status] ?? 'Error', detail: message });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new ApiError(413, `request body of ${declared} bytes; at most ${MAX_BODY_BYTES} are accepted`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(422, `the request body is not valid JSON (${(error as Error).message})`);
  }
}

function authorized(req: http.IncomingMessage, auth: string | null): boolean {
  if (!auth) return true;
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(Buffer.from(match[1], 'base64').toString('utf8'));
  const expected = Buffer.from(auth);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** A1111's txt2img/img2img answer: base64 PNGs, the request echoed, and `info` as a JSON string. */
function generationResponse(request: GenerationRequest, body: unknown, outcome: GenerationOutcome): unknown {
  const o = outcome.options;
  const [height, width] = outcome.size ?? request.size ?? [0, 0];
  const count = outcome.seeds.length;
  const info = {
    prompt: request.prompt,
    all_prompts: Array(count).fill(request.prompt),
    negative_prompt: request.negativePrompt,
    all_negative_prompts: Array(count).fill(request.negativePrompt),
    seed: outcome.seeds[0] ?? request.seed,
    all_seeds: outcome.seeds,
    subseed: -1,
    all_subseeds: Array(count).fill(-1),
    subseed_strength: 0,
    width,
    height,
    sampler_name: request.samplerName,
    cfg_scale: o?.cfg ?? request.options.cfg,
    steps: o?.steps ?? request.options.steps,
    batch_size: request.batchSize,
    restore_faces: false,
    sd_model_name: outcome.model,
    sd_model_hash: null,
    denoising_strength: request.kind === 'img2img' ? request.options.strength : 0,
    extra_generation_params: {},
    index_of_first_image: 0,
    infotexts: outcome.infotexts,
    styles: [],
    job_timestamp: outcome.jobTimestamp,
    clip_skip: 1,
    version: `sag ${packageVersion()}`,
    sag: {
      method: o?.method ?? request.options.method,
      guidance: o?.guidance ?? [],
      interrupted: outcome.interrupted,
      ignored: outcome.ignored,
      notes: outcome.notes,
    },
  };
  return {
    images: request.sendImages ? outcome.pngs.map((png) => png.toString('base64')) : [],
    parameters: body,
    info: JSON.stringify(info),
  };
}

/**
 * `sag serve --api`: the AUTOMATIC1111 web UI's /sdapi/v1 endpoints that front ends call, on sag's pipeline. One
 * generation runs at a time; others wait their turn; a client that disconnects cancels its request.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { models } = options;
  const jobs = new GenerationJobs(models, options.backendName);

  const get: Record<string, () => unknown> = {
    '/sdapi/v1/options': () => ({
      sd_model_checkpoint: models.current.title,
      sd_checkpoint_hash: null,
      samples_format: 'png',
      CLIP_stop_at_last_layers: 1,
      sd_vae: 'Automatic',
    }),
    '/sdapi/v1/sd-models': () => models.list.map(({ dir: _dir, ...model }) => model),
    '/sdapi/v1/samplers': () =>
      Object.keys(API_SAMPLERS).map((name) => ({ name, aliases: [name.toLowerCase()], options: {} })),
    '/sdapi/v1/schedulers': () =>
      API_SCHEDULERS.map((name) => ({
        name: name.toLowerCase(),
        label: name,
        aliases: null,
        default_rho: -1,
        need_inner_model: false,
      })),
    '/sdapi/v1/sd-vae': () => [],
    '/sdapi/v1/upscalers': () => [
      { name: 'None', model_name: null, model_path: null, model_url: null, scale: 1 },
    ],
    '/sdapi/v1/latent-upscale-modes': () => [],
    '/sdapi/v1/embeddings': () => ({ loaded: {}, skipped: {} }),
    '/sdapi/v1/loras': () => [],
    '/sdapi/v1/progress': () => jobs.progress(),
    '/sdapi/v1/memory': () => {
      const memory = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
      return {
        ram: { free: os.freemem(), used: process.memoryUsage().rss, total: os.totalmem() },
        cuda: { error: 'sag does not use CUDA' },
        sag: {
          tensors: memory.numTensors,
          tensorBytes: memory.numBytes,
          gpuAllocatedBytes: memory.numBytesAllocatedInGPU ?? null,
        },
      };
    },
  };

  const post: Record<
    string,
    (body: unknown, req: http.IncomingMessage, res: http.ServerResponse) => Promise<unknown>
  > = {
    '/sdapi/v1/txt2img': (body, _req, res) => generate('txt2img', body, res),
    '/sdapi/v1/img2img': (body, _req, res) => generate('img2img', body, res),
    '/sdapi/v1/interrupt': async () => {
      jobs.interrupt();
      return null;
    },
    '/sdapi/v1/skip': async () => {
      jobs.skip();
      return null;
    },
    '/sdapi/v1/options': async (body) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new ApiError(422, 'the request body must be a JSON object of settings');
      const checkpoint = (body as Record<string, unknown>).sd_model_checkpoint;
      if (checkpoint !== undefined) {
        if (typeof checkpoint !== 'string')
          throw new ApiError(422, 'sd_model_checkpoint: expected a model title');
        models.select(checkpoint);
      }
      return null;
    },
    '/sdapi/v1/png-info': async (body) => {
      const image = (body as Record<string, unknown> | null)?.image;
      const bytes = requestImageBytes('image', image);
      const text = bytes[0] === 0x89 ? (readPngText(bytes).parameters ?? null) : null;
      const recorded = text ? parseParameters(text) : null;
      return { info: text ?? '', items: text ? { parameters: text } : {}, parameters: recorded ?? {} };
    },
  };

  async function generate(
    kind: 'txt2img' | 'img2img',
    body: unknown,
    res: http.ServerResponse,
  ): Promise<unknown> {
    const request = parseGenerationRequest(kind, body);
    if (request.model) models.select(request.model); // an unknown model is refused before the request waits
    const job = jobs.submit(request);
    const onClose = () => {
      if (!res.writableEnded) job.cancel();
    };
    res.on('close', onClose);
    try {
      return generationResponse(request, body, await job.done);
    } finally {
      res.off('close', onClose);
    }
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        if (!authorized(req, options.auth)) {
          res.setHeader('WWW-Authenticate', 'Basic realm="sag"');
          throw new ApiError(401, 'authentication required (HTTP Basic, as given to --api-auth)');
        }
        const pathname = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
        if (req.method === 'GET' && get[pathname]) return send(res, 200, get[pathname]());
        if (req.method === 'POST' && post[pathname])
          return send(res, 200, await post[pathname](await readJson(req), req, res));
        if (get[pathname] || post[pathname])
          throw new ApiError(405, `${req.method} is not allowed on ${pathname}`);
        throw new ApiError(
          404,
          `${pathname}: no such endpoint in sag's API (see the README: Use sag from existing front ends)`,
        );
      } catch (error) {
        if (error instanceof ApiError) return sendError(res, error.status, error.message);
        // sag's own one-line errors (bad option values, unreadable images) are the client's to fix.
        const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
        const internal =
          error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError;
        sendError(res, internal ? 500 : 422, message);
      }
    })();
  });
  server.requestTimeout = 0; // a generation may take minutes
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    jobs,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        models.release();
      }),
  };
}
