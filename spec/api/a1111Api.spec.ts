import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { ApiServer, MAX_BODY_BYTES, startApiServer } from '../../lib/api/a1111Server';
import { ApiModels } from '../../lib/api/apiModels';
import { parseParameters } from '../../lib/io/generationParameters';
import { readPngText } from '../../lib/io/pngText';
import { testBackendName, useTestBackend } from '../helpers/testBackend';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'api');
const payload = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Record<string, unknown>;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  server: ApiServer,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const infoOf = (reply: Reply) =>
  JSON.parse(reply.body.info as string) as Record<string, unknown> & {
    seed: number;
    all_seeds: number[];
    infotexts: string[];
    sag: { method: string; interrupted: boolean; ignored: string[]; notes: string[] };
  };
const imageBytes = (reply: Reply, i = 0) => Buffer.from((reply.body.images as string[])[i], 'base64');

/** The API on the embedded model, on a free loopback port, with `auth` (or none). */
async function startTestServer(auth: string | null): Promise<ApiServer> {
  await useTestBackend();
  return startApiServer({
    models: new ApiModels([], { backend: testBackendName() }),
    host: '127.0.0.1',
    port: 0,
    auth,
    backendName: () => testBackendName(),
  });
}

describe('sag serve --api: the AUTOMATIC1111 API on the embedded model', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startTestServer(null);
  });
  afterAll(() => server.close());

  test("SillyTavern's calls: options, model switch, lists, progress, and its txt2img payload", async () => {
    const options = await call(server, 'GET', '/sdapi/v1/options');
    expect(options.body.sd_model_checkpoint).toBe('sag-digits');
    expect(
      (await call(server, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: 'sag-digits' })).status,
    ).toBe(200);
    const unknown = await call(server, 'POST', '/sdapi/v1/options', { sd_model_checkpoint: 'sd15' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toMatch(/model not found: "sd15" \(served: sag-digits\)/);
    for (const list of [
      'samplers',
      'schedulers',
      'sd-models',
      'sd-vae',
      'upscalers',
      'latent-upscale-modes',
      'loras',
    ])
      expect(Array.isArray((await call(server, 'GET', `/sdapi/v1/${list}`)).body)).toBe(true);
    const idle = await call(server, 'GET', '/sdapi/v1/progress');
    expect(idle.body.progress).toBe(0);
    expect((idle.body.state as { job_count: number }).job_count).toBe(0);

    const reply = await call(server, 'POST', '/sdapi/v1/txt2img', payload('sillytavern-txt2img'));
    expect(reply.status).toBe(200);
    const png = imageBytes(reply);
    expect(PNG.sync.read(png).width).toBe(32);
    const info = infoOf(reply);
    expect(info.seed).toBeGreaterThanOrEqual(0);
    const infotext = readPngText(png).parameters;
    expect(infotext).toBe(info.infotexts[0]);
    expect(infotext).toMatch(/Steps: 8, Sampler: ddim, .*Seed: \d+/);
    expect(parseParameters(infotext)?.options.seed).toBe(info.seed); // sag info and --from read it
    // What the embedded model cannot honour is said, not dropped.
    expect(info.sag.ignored).toEqual(
      expect.arrayContaining([
        'prompt (the model has no text encoder)',
        'width, height (the model makes 32x32 images)',
        'save_images (the API never writes files on the server)',
      ]),
    );
    // The seed it reports reproduces the image.
    const again = await call(server, 'POST', '/sdapi/v1/txt2img', {
      ...payload('sillytavern-txt2img'),
      seed: info.seed,
    });
    expect(imageBytes(again).equals(png)).toBe(true);
  });

  test("Open WebUI's payload, and SAG guidance through alwayson_scripts (positional and named)", async () => {
    const plain = await call(server, 'POST', '/sdapi/v1/txt2img', {
      ...payload('openwebui-txt2img'),
      seed: 3,
    });
    expect(plain.status).toBe(200);
    expect(infoOf(plain).sag.method).toBe('none');
    expect(infoOf(plain).sag.notes).toContain(
      'sampler Euler runs as DDIM (the deterministic first-order solver of the same ODE)',
    );
    const positional = await call(server, 'POST', '/sdapi/v1/txt2img', {
      steps: 6,
      seed: 3,
      alwayson_scripts: { sag: { args: ['class', '7', 'sag', 2] } },
    });
    const named = await call(server, 'POST', '/sdapi/v1/txt2img', {
      steps: 6,
      seed: 3,
      alwayson_scripts: { sag: { guidance: 'class', target: '7', method: 'sag', n: 2 } },
    });
    expect(infoOf(positional).sag.method).toBe('sag');
    expect(infoOf(positional).infotexts[0]).toMatch(/Guidance: class, Method: sag, n: 2/);
    expect(imageBytes(positional).equals(imageBytes(named))).toBe(true);
    expect(imageBytes(positional).equals(imageBytes(plain))).toBe(false);
  });

  test('batch_size x n_iter images with seeds seed + i; img2img from a base64 init image', async () => {
    const batch = await call(server, 'POST', '/sdapi/v1/txt2img', {
      steps: 4,
      seed: 10,
      batch_size: 2,
      n_iter: 2,
    });
    expect(infoOf(batch).all_seeds).toEqual([10, 11, 12, 13]);
    expect((batch.body.images as string[]).length).toBe(4);
    const single = await call(server, 'POST', '/sdapi/v1/txt2img', { steps: 4, seed: 12 });
    expect(imageBytes(single).equals(imageBytes(batch, 2))).toBe(true);
    const img2img = await call(server, 'POST', '/sdapi/v1/img2img', {
      init_images: [`data:image/png;base64,${imageBytes(single).toString('base64')}`],
      denoising_strength: 0.5,
      steps: 8,
      seed: 1,
    });
    expect(img2img.status).toBe(200);
    expect(infoOf(img2img).denoising_strength).toBe(0.5);
    const info = await call(server, 'POST', '/sdapi/v1/png-info', {
      image: (img2img.body.images as string[])[0],
    });
    expect((info.body.parameters as { command: string }).command).toBe('generate');
  });

  test('progress moves from 0 to 1 during a run and returns to idle; interrupt stops a run', async () => {
    const seen: number[] = [];
    const running = call(server, 'POST', '/sdapi/v1/txt2img', { steps: 30, seed: 1, n_iter: 3 });
    for (let i = 0; i < 400 && seen.length < 6; i++) {
      const p = (await call(server, 'GET', '/sdapi/v1/progress')).body.progress as number;
      if (p > 0 && p !== seen[seen.length - 1]) seen.push(p);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await call(server, 'POST', '/sdapi/v1/interrupt')).status).toBe(200);
    const reply = await running;
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(infoOf(reply).sag.interrupted).toBe(true);
    expect((reply.body.images as string[]).length).toBeLessThan(3);
    const idle = await call(server, 'GET', '/sdapi/v1/progress');
    expect(idle.body.progress).toBe(0);
    expect((idle.body.state as { job_count: number }).job_count).toBe(0);
  });

  test('bad requests get a 4xx with one line, and the server keeps serving', async () => {
    const bad: [string, unknown, number, RegExp][] = [
      ['/sdapi/v1/txt2img', '{"prompt": ', 422, /not valid JSON/],
      ['/sdapi/v1/txt2img', { steps: 'many' }, 422, /^steps: expected a number, got "many"/],
      [
        '/sdapi/v1/txt2img',
        { sampler_name: 'Heun' },
        422,
        /sampler not found: "Heun" \(sag offers Euler, DDIM, DPM\+\+ 2M\)/,
      ],
      ['/sdapi/v1/txt2img', { batch_size: 10, n_iter: 10 }, 422, /at most 16 images per request/],
      ['/sdapi/v1/txt2img', { width: 513 }, 422, /multiples of 8/],
      ['/sdapi/v1/img2img', { init_images: ['not-base64!'] }, 422, /init_images\[0\]: not valid base64/],
      [
        '/sdapi/v1/img2img',
        { init_images: [Buffer.from('hello').toString('base64')] },
        422,
        /not a PNG or JPEG/,
      ],
      ['/sdapi/v1/img2img', { init_images: ['https://example.com/a.png'] }, 422, /URLs are not fetched/],
      [
        '/sdapi/v1/txt2img',
        { alwayson_scripts: { sag: { method: 'magic' } } },
        422,
        /alwayson_scripts\.sag\.method/,
      ],
      [
        '/sdapi/v1/txt2img',
        { alwayson_scripts: { sag: { guidance: 'class', target: '11' } } },
        422,
        /target/,
      ],
    ];
    for (const [route, body, status, detail] of bad) {
      const reply = await call(server, 'POST', route, body);
      expect({ body, status: reply.status }).toEqual({ body, status });
      expect(reply.body.detail).toMatch(detail);
    }
    const huge = await call(server, 'POST', '/sdapi/v1/txt2img', { prompt: 'x'.repeat(MAX_BODY_BYTES + 10) });
    expect(huge.status).toBe(413);
    expect((await call(server, 'GET', '/sdapi/v1/nothing')).status).toBe(404);
    expect((await call(server, 'POST', '/sdapi/v1/txt2img', { steps: 2, seed: 1 })).status).toBe(200);
  });

  test('load: 8 clients, 40 requests with progress polling between; all answered, memory back to the start', async () => {
    const warm = await call(server, 'POST', '/sdapi/v1/txt2img', { steps: 2, seed: 0 });
    expect(warm.status).toBe(200);
    const tensorsBefore = tf.memory().numTensors;
    let answered = 0;
    const seeds = new Set<number>();
    const client = async (c: number) => {
      for (let k = 0; k < 5; k++) {
        const reply = await call(server, 'POST', '/sdapi/v1/txt2img', { steps: 2, seed: 100 + c * 5 + k });
        expect(reply.status).toBe(200);
        seeds.add(infoOf(reply).seed);
        answered++;
        expect((await call(server, 'GET', '/sdapi/v1/progress')).status).toBe(200);
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));
    const seconds = (performance.now() - start) / 1000;
    process.stdout.write(
      `api load: 8 clients, ${answered} txt2img requests (2 steps each) with progress polls in ${seconds.toFixed(1)} s; tensors ${tensorsBefore} -> ${tf.memory().numTensors}\n`,
    );
    expect(answered).toBe(40);
    expect(seeds.size).toBe(40);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  test('a client that disconnects cancels its queued request', async () => {
    const first = call(server, 'POST', '/sdapi/v1/txt2img', { steps: 20, seed: 1 });
    const controller = new AbortController();
    const second = fetch(`${server.url}/sdapi/v1/txt2img`, {
      method: 'POST',
      body: JSON.stringify({ steps: 20, seed: 2 }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 100));
    expect(((await call(server, 'GET', '/sdapi/v1/progress')).body.state as { queued: number }).queued).toBe(
      1,
    );
    controller.abort();
    expect(await second).toBe('aborted');
    await new Promise((r) => setTimeout(r, 100));
    expect(((await call(server, 'GET', '/sdapi/v1/progress')).body.state as { queued: number }).queued).toBe(
      0,
    );
    expect((await first).status).toBe(200);
  });
});

describe('sag serve --api with --api-auth', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startTestServer('user:secret');
  });
  afterAll(() => server.close());

  test('requests without the credentials get 401; with them (as Open WebUI sends them) they are served', async () => {
    expect((await call(server, 'GET', '/sdapi/v1/sd-models')).status).toBe(401);
    const wrong = { Authorization: `Basic ${Buffer.from('user:guess').toString('base64')}` };
    expect((await call(server, 'GET', '/sdapi/v1/sd-models', undefined, wrong)).status).toBe(401);
    const right = { Authorization: `Basic ${Buffer.from('user:secret').toString('base64')}` };
    const reply = await call(server, 'POST', '/sdapi/v1/txt2img', payload('openwebui-txt2img'), right);
    expect(reply.status).toBe(200);
    expect((reply.body.images as string[]).length).toBe(1);
  });
});
