/// <reference lib="dom" />
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { PageServer, startPageServer } from '../../lib/serve/pageServer';
import { chromiumPath, chromiumWebgpuProbe, launchChromium } from '../helpers/browser';
import { activeNativeMatrixProducts, setNativeMatrixProducts } from '../../lib/backend/nativeMatrixProducts';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';

// The page, built from the current sources, served as `sag serve` serves it and driven in headless Chromium:
// SAG n = 4 towards 7, the evaluator's verdict read from the page, a screenshot checked, and the page's images
// compared with the CLI's for the same settings on the same backend (wasm).
const root = path.join(__dirname, '..', '..');
const browserFound = chromiumPath();
const describeWithBrowser = browserFound.path ? describe : describe.skip;
if (!browserFound.path) console.log(`browser page tests skipped: ${browserFound.reason}`);
const browserWebgpu = browserFound.path ? chromiumWebgpuProbe(browserFound.path) : { ok: false, reason: '' };
if (browserFound.path && !browserWebgpu.ok)
  console.log(`browser page WebGPU test SKIPPED: ${browserWebgpu.reason}`);

/** What web/main.ts exposes as window.sagPage. */
type PageWindow = { sagPage?: { error: string | null; lastRun: PageRun | null; numTensors(): number } };

interface PageRun {
  images: number[][];
  verdicts: { predicted: number; pTarget: number | null }[];
  command: string;
  backend: string;
}

async function setControls(page: Page, values: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    const control = page.locator(`[name=${name}]`);
    if ((await control.evaluate((e) => e.tagName)) === 'SELECT') await control.selectOption(value);
    else await control.fill(value);
  }
}

async function runOnPage(page: Page, values: Record<string, string>): Promise<PageRun> {
  await setControls(page, values);
  await page.click('#start');
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300_000 });
  const error = await page.evaluate(() => (window as unknown as PageWindow).sagPage?.error ?? null);
  if (error) throw new Error(`the page failed: ${error}`);
  return (await page.evaluate(() => (window as unknown as PageWindow).sagPage?.lastRun)) as PageRun;
}

/** Fraction of distinct colours and the pixel standard deviation of a PNG: a blank page has ~0 of both. */
function pictureStats(file: string): { colours: number; std: number } {
  const png = PNG.sync.read(fs.readFileSync(file));
  const colours = new Set<number>();
  let sum = 0;
  let sumSq = 0;
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [png.data[i * 4], png.data[i * 4 + 1], png.data[i * 4 + 2]];
    colours.add((r << 16) | (g << 8) | b);
    const gray = (r + g + b) / 3;
    sum += gray;
    sumSq += gray * gray;
  }
  return { colours: colours.size, std: Math.sqrt(sumSq / n - (sum / n) ** 2) };
}

describeWithBrowser('the browser page (headless Chromium)', () => {
  let server: PageServer;
  let browser: Browser;
  let page: Page;
  const out = makeTempDir('page');
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    const pageDir = path.join(out, 'web');
    execFileSync(process.execPath, [path.join(root, 'web', 'build.mjs'), pageDir], { stdio: 'pipe' });
    server = await startPageServer({
      pageDir,
      weightsDir: path.join(root, 'weights'),
      port: 0,
      host: '127.0.0.1',
    });
    browser = await launchChromium(browserFound.path as string);
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(`${server.url}?backend=wasm`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 120_000 });
  }, 180_000);

  const numTensors = (on: Page) => on.evaluate(() => (window as unknown as PageWindow).sagPage?.numTensors());

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('SAG n = 4 towards 7: the evaluator reads 7s, and the screenshot shows the estimates', async () => {
    expect(await page.textContent('#backend')).toMatch(/backend: wasm/);
    const run = await runOnPage(page, {
      guidance: 'class',
      target: '7',
      method: 'sag',
      n: '4',
      tableau: 'euler',
      rhoScale: '0.05',
      steps: '20',
      seed: '1',
      num: '4',
    });
    expect(run.backend).toBe('wasm');
    expect(run.verdicts).toHaveLength(4);
    const sevens = run.verdicts.filter((v) => v.predicted === 7).length;
    expect(sevens).toBeGreaterThanOrEqual(3);
    const status = await page.textContent('#status');
    expect(status).toContain(`the evaluator reads ${sevens} of 4 as 7`);
    expect(await page.locator('.verdict').count()).toBe(4);

    // An early step: the one-step estimate is still a blur where the 4-step estimate is a digit.
    await page.locator('#step-slider').fill('3');
    expect(await page.textContent('#step-label')).toMatch(/main step 4 /);
    expect(await page.textContent('#n-step-caption')).toBe('4-step estimate (what SAG judges)');
    const canvases = await page.evaluate(() =>
      ['sample', 'one-step', 'n-step'].map((id) => {
        const canvas = document.getElementById(id) as HTMLCanvasElement;
        const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(
          0,
          0,
          canvas.width,
          canvas.height,
        ).data;
        let lit = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] > 128) lit++;
        return { width: canvas.width, height: canvas.height, lit };
      }),
    );
    for (const canvas of canvases) {
      expect(canvas.width).toBeGreaterThan(0);
      expect(canvas.height).toBeGreaterThan(canvas.width); // a column of the 4 images
      expect(canvas.lit).toBeGreaterThan(100);
    }
    const screenshot = path.join(process.env.SAG_PAGE_SCREENSHOT_DIR ?? out, 'page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    const stats = pictureStats(screenshot);
    expect(stats.colours).toBeGreaterThan(50);
    expect(stats.std).toBeGreaterThan(20);
    expect(consoleErrors).toEqual([]);
  }, 400_000);

  test('Stop ends a run between steps, leaves no tensors behind, and the next run starts', async () => {
    const before = await numTensors(page);
    await setControls(page, {
      guidance: 'style',
      style: 'digit-style-0.png',
      method: 'freedom',
      steps: '200',
      num: '2',
    });
    await page.click('#start');
    await page.waitForFunction(
      () => /step [3-9]\//.test(document.getElementById('status')?.textContent ?? ''),
      null,
      {
        timeout: 120_000,
      },
    );
    await page.click('#stop');
    await page.waitForSelector('body[data-state="stopped"]', { timeout: 60_000 });
    expect(await page.textContent('#status')).toBe('stopped');
    expect(await numTensors(page)).toBe(before);
    const run = await runOnPage(page, { guidance: 'none', steps: '5', num: '2' });
    expect(run.verdicts).toHaveLength(2);
    expect(await numTensors(page)).toBe(before);
  }, 400_000);

  /**
   * A browser has no native kernels: the CLI runs wasm's own, which sum in the same order as the page's (whether
   * this process's backend starts in this call or has started before).
   */
  async function runCliOnWasmKernels(args: string[]) {
    const native = activeNativeMatrixProducts();
    const saved = process.env.SAG_NATIVE_BLAS;
    process.env.SAG_NATIVE_BLAS = '0';
    setNativeMatrixProducts(null);
    try {
      return await runCli(args);
    } finally {
      if (saved === undefined) delete process.env.SAG_NATIVE_BLAS;
      else process.env.SAG_NATIVE_BLAS = saved;
      setNativeMatrixProducts(native);
    }
  }

  test('the same settings give the same image as the CLI on wasm, also with 2 wasm threads in the page', async () => {
    // The page is cross-origin isolated, so wasm runs multithreaded: tfjs starts half as many threads as the
    // browser reports cores; reporting 4 gives this page 2 (the CLI in jest runs one).
    const threaded = await browser.newPage();
    await threaded.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 4 }),
    );
    await threaded.goto(`${server.url}?backend=wasm`);
    await threaded.waitForSelector('body[data-state="ready"], body[data-state="error"]', {
      timeout: 120_000,
    });
    expect(await threaded.textContent('#backend')).toContain('wasm, 2 threads (cross-origin isolated)');
    const cases: Record<string, string>[] = [
      { guidance: 'class', target: '3', method: 'sag', n: '2', tableau: 'heun', steps: '12', seed: '5' },
      // The style image decoded by the browser and by the CLI (pngjs) must give the same numbers.
      { guidance: 'style', style: 'digit-style-4.png', method: 'ug', steps: '8', seed: '2' },
    ];
    for (const [index, settings] of cases.entries()) {
      const run = await runOnPage(threaded, { rhoScale: '0.05', num: '1', ...settings });
      const file = path.join(out, `cli-${index}.png`);
      const args = run.command
        .replace(/^npx sag /, '')
        .replace('page-run.png', file)
        .split(' ');
      expect(args).toEqual(expect.arrayContaining(['--backend', 'wasm', '--seed', settings.seed]));
      const cli = await runCliOnWasmKernels(args);
      expect(cli.code).toBe(0);
      const png = PNG.sync.read(fs.readFileSync(file));
      const cliGray = Array.from({ length: png.width * png.height }, (_, i) => png.data[i * 4]);
      const pageGray = run.images[0];
      expect(pageGray).toHaveLength(cliGray.length);
      expect(Math.max(...cliGray.map((v, i) => Math.abs(v - pageGray[i])))).toBe(0);
    }
    await threaded.close();
  }, 400_000);

  (browserWebgpu.ok ? test : test.skip)(
    'on WebGPU (Chromium with WebGPU on, software adapter without a GPU) the page gives the wasm image',
    async () => {
      const gpuBrowser = await launchChromium(browserFound.path as string, { webgpu: true });
      try {
        const settings = {
          guidance: 'class',
          target: '7',
          method: 'sag',
          n: '2',
          steps: '3',
          seed: '4',
          num: '1',
        };
        const onGpu = await gpuBrowser.newPage();
        await onGpu.goto(`${server.url}?backend=wasm`);
        await onGpu.waitForSelector('body[data-state="ready"], body[data-state="error"]', {
          timeout: 120_000,
        });
        expect(await onGpu.inputValue('#backend-choice')).toBe('wasm');
        // The page's backend selector reloads it with ?backend=webgpu.
        await Promise.all([
          onGpu.waitForURL(/backend=webgpu/),
          onGpu.selectOption('#backend-choice', 'webgpu'),
        ]);
        await onGpu.waitForSelector('body[data-state="ready"], body[data-state="error"]', {
          timeout: 120_000,
        });
        const error = await onGpu.evaluate(() => (window as unknown as PageWindow).sagPage?.error ?? null);
        expect(error).toBeNull();
        expect(await onGpu.textContent('#backend')).toMatch(/backend: webgpu \(/);
        const gpuRun = await runOnPage(onGpu, settings);
        const wasmRun = await runOnPage(page, settings);
        const difference = gpuRun.images[0].map((v, i) => Math.abs(v - wasmRun.images[0][i]));
        expect(Math.max(...difference)).toBeLessThanOrEqual(2);
        expect(gpuRun.verdicts[0].predicted).toBe(wasmRun.verdicts[0].predicted);
      } finally {
        await gpuBrowser.close();
      }
    },
    600_000,
  );
});
