import { spawnSync } from 'child_process';

/**
 * ffmpeg, when this machine has it: $SAG_FFMPEG, else `ffmpeg` on the PATH (Debian/Ubuntu: apt-get install ffmpeg;
 * macOS: brew install ffmpeg). sag reads and writes mp4/webm through it; GIFs and frame folders need nothing.
 */
export function findFfmpeg(): string | null {
  const candidate = process.env.SAG_FFMPEG || 'ffmpeg';
  const probe = spawnSync(candidate, ['-version'], { encoding: 'utf8' });
  return probe.status === 0 ? candidate : null;
}

/** Runs ffmpeg with `args`; throws with its last line of stderr when it fails. */
export function runFfmpeg(ffmpeg: string, args: string[], what: string): void {
  const run = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (run.error) throw new Error(`${what}: ffmpeg could not start (${run.error.message})`);
  if (run.status !== 0) {
    const last = (run.stderr || '').trim().split('\n').pop() ?? '';
    throw new Error(`${what}: ffmpeg failed (${last})`);
  }
}

export const FFMPEG_MISSING =
  'needs ffmpeg (apt-get install ffmpeg, or set SAG_FFMPEG to its path); GIFs and folders of frames need nothing';
