// The agent's promises: it costs nothing idle and never keeps the process alive,
// removes its socket at exit and replaces a stale one, runs once per process, and
// is reachable only by its user: a directory or socket that someone else owns or
// others may enter is refused, by the agent and by its clients. Bad requests get
// typed errors and the agent goes on serving.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { explainProcess } from '../lib/process/explain/explain.js';
import { asNobody, canRunAsNobody, cliHarness, root } from './fixtures/cli-harness.js';
import { startService, stopServices } from './fixtures/services.js';

const { cli } = cliHarness(['dist/cli.js', 'dist/integrations/agent-import.js']);
afterEach(stopServices);

const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-agent-test-'));
chmodSync(scratch, 0o755); // nobody must be able to reach the directories made inside
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;
/** A fresh agent directory path (not created). */
const directory = () => join(scratch, `agent-${made++}`);

const AGENT_IMPORT = join(root, 'dist/integrations/agent-import.js');
const AGENT = join(root, 'dist/integrations/agent.js');
const INDEX = join(root, 'dist/index.js');

/** Runs an ES module script in a child Node; resolves with its exit code, stdout and stderr. */
function script(source: string, env: Record<string, string> = {}, options: { uid?: number; gid?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

function request(path: string, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.split('\n').length > lines.length) socket.end();
    });
    socket.on('close', () => resolve(received.split('\n').filter((line) => line !== '')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(lines.map((line) => `${line}\n`).join('')));
  });
}

describe('the agent at rest', () => {
  it('never keeps the process alive, and removes its socket at exit', async () => {
    const dir = directory();
    const run = await script(
      `import { agent } from ${JSON.stringify(AGENT_IMPORT)};
       import { existsSync } from 'node:fs';
       await agent.ready;
       console.log(JSON.stringify({ socket: agent.socketPath, exists: existsSync(agent.socketPath), pid: process.pid }));`,
      { MALLOC_LAB_AGENT_DIR: dir },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const seen = JSON.parse(run.stdout) as { socket: string; exists: boolean; pid: number };
    expect(seen.socket).toBe(join(dir, `${seen.pid}.sock`));
    expect(seen.exists).toBe(true);
    expect(existsSync(seen.socket)).toBe(false);
    // The directory it made: 0700, this user's.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('idle, it has no timers and adds 0 bytes to the glibc heap', async () => {
    // Idle is the process asleep in epoll with the agent listening: one long timer per
    // trial is all that runs. A trial with no change at all shows the agent adds nothing.
    const source = (withAgent: boolean) =>
      `${withAgent ? `const { agent } = await import(${JSON.stringify(AGENT_IMPORT)}); await agent.ready;` : ''}
       import(${JSON.stringify(INDEX)}).then(async ({ mallinfo2 }) => {
         const resources = process.getActiveResourcesInfo();
         const trials = [];
         await new Promise((resolve) => setTimeout(resolve, 100));
         for (let trial = 0; trial < 8; trial++) {
           const before = mallinfo2();
           await new Promise((resolve) => setTimeout(resolve, 150));
           const after = mallinfo2();
           trials.push({ uordblks: after.uordblks - before.uordblks, arena: after.arena - before.arena });
           if (trials.at(-1).uordblks === 0 && trials.at(-1).arena === 0) break;
         }
         console.log(JSON.stringify({ resources, trials }));
       });`;
    const run = await script(source(true), { MALLOC_LAB_AGENT_DIR: directory() });
    expect(run.stderr).toBe('');
    const seen = JSON.parse(run.stdout) as { resources: string[]; trials: object[] };
    expect(seen.resources.filter((kind) => kind === 'Timeout' || kind === 'Immediate')).toEqual([]);
    expect(seen.trials).toContainEqual({ uordblks: 0, arena: 0 });
  });

  it('runs once per process: a second start, a second copy of the module and a Worker get the running agent (or none)', async () => {
    const run = await script(
      `import { agent } from ${JSON.stringify(AGENT_IMPORT)};
       import { startAgent } from ${JSON.stringify(INDEX)};
       import { Worker } from 'node:worker_threads';
       await agent.ready;
       const again = startAgent({ directory: '/nonexistent/elsewhere' });
       const copy = await import(${JSON.stringify(`${AGENT}?second-copy`)});
       const third = copy.startAgent();
       const worker = new Worker(\`Promise.all([import(${JSON.stringify(AGENT_IMPORT)}), import('node:worker_threads')]).then(([m, w]) => w.parentPort.postMessage(m.agent?.socketPath ?? 'none'))\`, { eval: true });
       const inWorker = await new Promise((resolve) => worker.once('message', resolve));
       await worker.terminate();
       console.log(JSON.stringify({ same: again === agent, copySame: third.socketPath === agent.socketPath, inWorker }));`,
      { MALLOC_LAB_AGENT_DIR: directory() },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ same: true, copySame: true, inWorker: 'none' });
  });

  it('replaces a stale socket: one left by a killed process, and one at its own pid', async () => {
    const dir = directory();
    const killed = await startService([], { env: { ...process.env, MALLOC_LAB_AGENT_DIR: dir } });
    const stale = join(dir, `${killed.pid}.sock`);
    expect(existsSync(stale)).toBe(true);
    killed.stop();
    await new Promise((resolve) => killed.child.once('exit', resolve));
    expect(existsSync(stale)).toBe(true); // SIGKILL: no exit handler ran
    const next = await startService([], { env: { ...process.env, MALLOC_LAB_AGENT_DIR: dir } });
    expect(existsSync(stale)).toBe(false);
    const report = await explainProcess(next.pid);
    expect(report.agent?.answered).toBe(true);

    // A socket file at the agent's own name (a dead process had the same pid): bound by
    // a process that exited without removing it.
    const run = await script(
      `import { execFileSync } from 'node:child_process';
       import { join } from 'node:path';
       const path = join(process.env.MALLOC_LAB_AGENT_DIR, process.pid + '.sock');
       execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
       const { agent } = await import(${JSON.stringify(AGENT_IMPORT)});
       await agent.ready;
       console.log('listening');`,
      { MALLOC_LAB_AGENT_DIR: dir },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('listening');
  });
});

describe('reachable only by its user', () => {
  it('refuses a directory others may enter: the service goes on without an agent, and says why', async () => {
    const dir = directory();
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const run = await script(
      `const { agent } = await import(${JSON.stringify(AGENT_IMPORT)}); console.log(agent === null);`,
      {
        MALLOC_LAB_AGENT_DIR: dir,
      },
    );
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('true');
    expect(run.stderr).toMatch(/agent directory .* must be owned by uid \d+ with mode 0700, found uid \d+ mode 0755/);
    expect(readdirSync(dir)).toEqual([]);
    const thrown = await script(
      `import { startAgent } from ${JSON.stringify(INDEX)};
       try { startAgent({ directory: ${JSON.stringify(dir)} }); } catch (error) { console.log(error.code); }`,
    );
    expect(thrown.stdout.trim()).toBe('ERR_AGENT_UNSAFE');
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a directory owned by another user', async () => {
    const dir = directory();
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const run = await script(
      `const { agent } = await import(${JSON.stringify(AGENT_IMPORT)}); console.log(agent === null);`,
      {
        MALLOC_LAB_AGENT_DIR: dir,
      },
    );
    expect(run.stdout.trim()).toBe('true');
    expect(run.stderr).toMatch(/must be owned by uid 0 with mode 0700, found uid 65534/);
  });

  it.skipIf(!canRunAsNobody)('an agent run as another user (nobody) listens in its own 0700 directory', async () => {
    const dir = directory();
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const service = await startService([], { env: { ...process.env, MALLOC_LAB_AGENT_DIR: dir }, ...asNobody });
    const socket = statSync(join(dir, `${service.pid}.sock`));
    expect({ uid: socket.uid, mode: socket.mode & 0o777 }).toEqual({ uid: 65534, mode: 0o600 });
    expect(statSync(dir).uid).toBe(65534);
    // root may reach it (root may ptrace it too); the check is that it is nobody's own.
    const report = await explainProcess(service.pid);
    expect(report.agent?.answered).toBe(true);
  });

  it('clients refuse a socket with loose permissions or owned by another user', async () => {
    const dir = directory();
    const service = await startService([], { env: { ...process.env, MALLOC_LAB_AGENT_DIR: dir } });
    const path = join(dir, `${service.pid}.sock`);
    chmodSync(path, 0o666);
    const loose = await cli(['trim', String(service.pid)]);
    expect(loose.code).toBe(1);
    expect(loose.stderr).toMatch(
      /agent socket .* must be owned by uid \d+ with mode 0600, found uid \d+ mode 0666: refusing to talk to it \[ERR_AGENT_UNSAFE\]/,
    );
    const report = await explainProcess(service.pid);
    expect(report.agent).toMatchObject({ answered: false, error: { code: 'ERR_AGENT_UNSAFE' } });
    expect(report.view).toBe('outside');

    if (process.getuid?.() === 0) {
      chmodSync(path, 0o600);
      chownSync(path, 65534, 65534);
      const foreign = await cli(['trim', String(service.pid)]);
      expect(foreign.code).toBe(1);
      expect(foreign.stderr).toMatch(/found uid 65534 mode 0600: refusing to talk to it \[ERR_AGENT_UNSAFE\]/);
    }
  });
});

describe('bad requests', () => {
  it('get typed errors, and the agent goes on serving', async () => {
    const dir = directory();
    const service = await startService([], { env: { ...process.env, MALLOC_LAB_AGENT_DIR: dir } });
    const path = join(dir, `${service.pid}.sock`);
    const answers = (
      await request(path, [
        'not json',
        '[1]',
        '{"id":3,"op":"dance"}',
        '{"id":4,"op":"trim","pad":-1}',
        '{"id":5,"op":"hello"}',
      ])
    ).map((line) => JSON.parse(line) as { id: unknown; ok: boolean; error?: { code: string } });
    expect(answers.map((answer) => [answer.id, answer.ok, answer.error?.code])).toEqual([
      [null, false, 'ERR_AGENT_PROTOCOL'],
      [null, false, 'ERR_AGENT_PROTOCOL'],
      [3, false, 'ERR_AGENT_PROTOCOL'],
      [4, false, 'ERR_OUT_OF_RANGE'],
      [5, true, undefined],
    ]);
    // A line without end: the connection is closed, the agent is fine.
    const flood = await request(path, ['x'.repeat(100_000)]).catch((error: Error) => [error.message]);
    expect(flood.join('')).toMatch(/request too long|ECONNRESET|EPIPE/);
    expect((await request(path, ['{"id":1,"op":"hello"}']))[0]).toContain('"ok":true');
    expect(service.child.exitCode).toBeNull();
  });
});
