import * as fs from 'fs';
import type { Browser } from 'playwright-core';

/** Debian's Chromium, or $SAG_CHROMIUM; null (with the reason) where there is none. */
export function chromiumPath(): { path: string | null; reason: string } {
  const candidate = process.env.SAG_CHROMIUM ?? '/usr/bin/chromium';
  return fs.existsSync(candidate)
    ? { path: candidate, reason: '' }
    : { path: null, reason: `no browser at ${candidate} (apt-get install chromium, or set SAG_CHROMIUM)` };
}

/**
 * Headless Chromium driven by Playwright. The flags keep it off the network (this machine has none) and off the
 * GPU (there is none in CI; WebGPU then has no adapter and the page runs wasm).
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
