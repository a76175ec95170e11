/**
 * What the experiment tests share: accessors over runExperiment's result (a host's
 * run, a claim, a variant, a step by label, its ops, a field and its change between
 * two steps), the byte units, and the package's own matchers. Importing this module
 * registers `toHaveClaim` from lib/integrations/vitest.ts, as `import 'malloc-lab/vitest'`
 * does in a user's test:
 *
 *   const lab = experimentRuns();
 *   beforeAll(async () => lab.load(await runExperiment(freeNotReturned)), 120_000);
 *   expect(lab.runs).toHaveClaim('free-keeps', 'confirmed', { host: 'fresh' });
 */
import '../../lib/integrations/vitest.js';
import type { HostName } from '../../lib/experiments/framework/hosts.js';
import type { OpName } from '../../lib/experiments/framework/program.js';
import type { ExperimentRun, OpResult, StepRecord, VariantRecord } from '../../lib/experiments/framework/runner.js';
import type { ClaimResult } from '../../lib/experiments/framework/types.js';

export { KiB, MiB, GiB } from '../../lib/infra/units.js';

/** Every experiment runs on both hosts unless it says otherwise. */
export const HOSTS: readonly HostName[] = ['fresh', 'node'];

/** A number a step recorded: a status field (RssAnon, VmSize, …), the break ('brk'), or a mallinfo2 field. */
export type Field = string;

/** A field of one step: 'brk' as a number, status fields first, then mallinfo2's. */
export function fieldOf(record: StepRecord, field: Field): number {
  if (field === 'brk') return Number(BigInt(record.brk));
  const value = field in record.status ? record.status[field] : record.mallinfo[field];
  if (value === undefined || value === null) throw new Error(`step "${record.label}" recorded no ${field}`);
  return value;
}

/** The break a step recorded, as a number. */
export function brkOf(record: StepRecord): number {
  return fieldOf(record, 'brk');
}

export interface ExperimentRuns {
  /** Keeps runExperiment's result (call it in beforeAll). */
  load(runs: ExperimentRun[]): void;
  /** Every run, for toHaveClaim. */
  readonly runs: ExperimentRun[];
  run(host: string): ExperimentRun;
  claim(host: string, id: string): ClaimResult;
  variant(host: string, name: string): VariantRecord;
  /** The steps of one variant (of every variant when name is omitted), in order. */
  steps(host: string, name?: string): StepRecord[];
  /** The first step with this label (in this variant, when given). */
  step(host: string, label: string, variant?: string): StepRecord;
  /** The ops of kind op in a step. */
  ops(host: string, label: string, op: OpName, variant?: string): OpResult[];
  /** to − from of a field between two steps (of one variant, when given). */
  change(host: string, from: string, to: string, field: Field, variant?: string): number;
}

/** Accessors over one experiment's runs; each throws when what it looks for is not there. */
export function experimentRuns(): ExperimentRuns {
  let loaded: ExperimentRun[] | undefined;
  const found = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what} in the runs`);
    return value;
  };
  const lab: ExperimentRuns = {
    load(runs) {
      loaded = runs;
    },
    get runs() {
      return found(loaded, 'runs loaded (call load() in beforeAll)');
    },
    run: (host) =>
      found(
        lab.runs.find((run) => run.host === host),
        `run on ${host}`,
      ),
    claim: (host, id) =>
      found(
        lab.run(host).claims.find((claim) => claim.id === id),
        `claim ${id} on ${host}`,
      ),
    variant: (host, name) =>
      found(
        lab.run(host).variants.find((variant) => variant.name === name),
        `variant ${name} on ${host}`,
      ),
    steps: (host, name) => lab.run(host).steps.filter((step) => name === undefined || step.variant === name),
    step: (host, label, variant) =>
      found(
        lab.steps(host, variant).find((step) => step.label === label),
        `step "${label}"${variant === undefined ? '' : ` of ${variant}`} on ${host}`,
      ),
    ops: (host, label, op, variant) => lab.step(host, label, variant).ops.filter((each) => each.op === op),
    change: (host, from, to, field, variant) =>
      fieldOf(lab.step(host, to, variant), field) - fieldOf(lab.step(host, from, variant), field),
  };
  return lab;
}
