import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as readline from 'readline';

/** Where Debian's OpenBLAS keeps its libblas.so.3: put first on torch's library path (Debian's torch links BLAS). */
const OPENBLAS_DIRS = [
  '/usr/lib/x86_64-linux-gnu/openblas-pthread',
  '/usr/lib/aarch64-linux-gnu/openblas-pthread',
];

/** The environment of the PyTorch process: `threads` threads (default 1), passive waits, OpenBLAS where Debian has it. */
export function pytorchEnvironment(threads = 1): NodeJS.ProcessEnv {
  const openblas = OPENBLAS_DIRS.find((d) => fs.existsSync(`${d}/libblas.so.3`));
  return {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
    OMP_WAIT_POLICY: 'PASSIVE',
    ...(openblas
      ? { LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') }
      : {}),
  };
}

/** Why PyTorch cannot run here, or null when `python -c "import torch"` works. */
export function pytorchUnavailable(python: string): string | null {
  const probe = spawnSync(python, ['-c', 'import torch, numpy'], {
    env: pytorchEnvironment(),
    encoding: 'utf8',
  });
  if (probe.error) return `${python} could not start (${probe.error.message})`;
  if (probe.status !== 0) {
    const last = (probe.stderr || '').trim().split('\n').pop() ?? '';
    return `${python} cannot import torch and numpy (${last}); on Debian: apt-get install python3-torch`;
  }
  return null;
}

/** A Python process answering one JSON request per line (bench/torch_digits.py). Call close() when done. */
export class PytorchWorker {
  private readonly lines: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static start(python: string, script: string, threads = 1): PytorchWorker {
    const child = spawn(python, [script], {
      env: pytorchEnvironment(threads),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-2000)));
    child.on('exit', (code) => {
      if (code) process.stderr.write(`PyTorch worker exited with code ${code}: ${stderr}\n`);
    });
    return new PytorchWorker(child);
  }

  async request<T>(message: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error(`the PyTorch worker stopped answering (request '${String(message.cmd)}')`);
    const reply = JSON.parse(next.value) as T & { error?: string };
    if (reply.error) throw new Error(`PyTorch worker, request '${String(message.cmd)}': ${reply.error}`);
    return reply;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
