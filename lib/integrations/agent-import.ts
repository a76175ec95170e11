/**
 * `import 'malloc-lab/agent'`: starts this process's agent (agent.ts) with its
 * defaults, once. A directory that is not safe is reported on stderr and the
 * service goes on without an agent: an observer must not take its host down.
 * (For options, call startAgent() from 'malloc-lab' instead of importing this.)
 */
import { type Agent, startAgent } from './agent.js';

function start(): Agent | null {
  try {
    const started = startAgent();
    started.ready.catch((error: Error) => process.stderr.write(`malloc-lab agent: ${error.message}\n`));
    return started;
  } catch (error) {
    process.stderr.write(`malloc-lab agent: ${(error as Error).message}\n`);
    return null;
  }
}

/** The agent this import started (null when its directory was refused). */
export const agent: Agent | null = start();
