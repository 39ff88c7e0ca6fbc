import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser } from 'playwright-core';

/** Debian's Chromium, or $SAG_CHROMIUM; null (with the reason) where there is none. */
export function chromiumPath(): { path: string | null; reason: string } {
  const candidate = process.env.SAG_CHROMIUM ?? '/usr/bin/chromium';
  return fs.existsSync(candidate)
    ? { path: candidate, reason: '' }
    : { path: null, reason: `no browser at ${candidate} (apt-get install chromium, or set SAG_CHROMIUM)` };
}

/**
 * Headless Chromium driven by Playwright, kept off the network (this machine has none). Without `webgpu` it is
 * also kept off the GPU, so the page finds no WebGPU adapter; with it, WebGPU is switched on (Chromium then offers
 * its SwiftShader software adapter where there is no GPU).
 */
export async function launchChromium(
  executablePath: string,
  options: { webgpu?: boolean } = {},
): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    args: [
      ...(options.webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu']),
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Whether headless Chromium with WebGPU switched on offers an adapter (its SwiftShader one where there is no GPU):
 * asked before the tests are collected, so a test that needs one is a jest skip with this reason, not a pass.
 */
export function chromiumWebgpuProbe(executablePath: string): { ok: boolean; reason: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-webgpu-probe-'));
  const page = path.join(dir, 'probe.html');
  fs.writeFileSync(
    page,
    `<html><body><div id="r">pending</div><script>(async () => { const r = document.getElementById('r');
      try { const a = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
        r.textContent = a ? 'adapter' : (navigator.gpu ? 'no adapter' : 'no navigator.gpu'); }
      catch (e) { r.textContent = 'error ' + e; } })();</script></body></html>`,
  );
  try {
    const run = spawnSync(
      executablePath,
      [
        '--headless',
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--virtual-time-budget=10000',
        '--dump-dom',
        `file://${page}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const result =
      /id="r">([^<]*)</.exec(run.stdout ?? '')?.[1] ??
      `the probe printed nothing (${run.error?.message ?? `exit ${run.status}`})`;
    return result === 'adapter'
      ? { ok: true, reason: '' }
      : { ok: false, reason: `Chromium with WebGPU on: ${result}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
