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
