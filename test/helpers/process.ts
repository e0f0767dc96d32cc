import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN } from './server.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NODE = path.join(REPO_ROOT, 'node_modules/.bin/node');
const JACKET = path.join(REPO_ROOT, 'bin/jacket.js');

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env };
}

/** A `jacket serve` child process: the real binary, as an operator runs it. Its info-level log gives its address. */
export interface JacketProcess {
  url: string;
  child: ChildProcess;
  /** Every stdout line so far (JSON log lines). */
  lines: string[];
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
}

/**
 * `jacket serve`, started as the binary itself or, `via: 'npm'`, as `npm start` (what a supervisor runs: the signals
 * then go to npm's process, which must pass them on and wait).
 */
export async function spawnJacket(env: Record<string, string>, options: { via?: 'binary' | 'npm' } = {}): Promise<JacketProcess> {
  const child =
    options.via === 'npm'
      ? spawn('npm', ['start', '--silent'], {
          cwd: REPO_ROOT,
          env: { ...childEnv(env), PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}` },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(NODE, [JACKET, 'serve'], { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        const listening = /Server listening at (https?:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (listening) resolve(listening[1]!);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    void exited.then((code) => reject(new Error(`jacket serve exited (${code}) before listening: ${stderr}${lines.join('\n')}`)));
    setTimeout(() => reject(new Error(`jacket serve did not log "Server listening at" (LOG_LEVEL must be info or lower): ${stderr}`)), 20_000).unref();
  });
  return { url, child, lines, exited };
}

/** Run a `jacket` subcommand to completion. */
export async function runJacket(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(NODE, [JACKET, ...args], { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number>((resolve) => child.once('close', (status) => resolve(status ?? -1)));
  return { code, stdout, stderr };
}
