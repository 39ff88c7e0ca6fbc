import { spawn } from 'child_process';

/** This process's own `sag` command line: node, its flags (a TypeScript loader), the script. */
export function ownSagCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]];
}

/**
 * Runs `sag` (as `command` starts it) with `args` in a child process; resolves with its stdout, rejects with the
 * end of its stderr when it fails. `env` entries are added to this process's environment; `signal` kills the child.
 */
export function runSagProcess(
  command: string[],
  args: string[],
  env: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      signal,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`sag ${args.join(' ')} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}
