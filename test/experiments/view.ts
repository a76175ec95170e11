/** Reading an experiment's runs in tests: a host's run, a claim, a variant, a step, a step's op values. */
import type { ExperimentRun, OpResult, StepRecord, VariantRecord } from '../../lib/experiments/framework/runner.js';

export const HOSTS = ['fresh', 'node'] as const;

export function view(runs: () => ExperimentRun[]) {
  const runOn = (host: string): ExperimentRun => {
    const found = runs().find((r) => r.host === host);
    if (found === undefined) throw new Error(`no run on ${host}`);
    return found;
  };
  const step = (host: string, variant: string, label: string): StepRecord => {
    const found = runOn(host).steps.find((s) => s.variant === variant && s.label === label);
    if (found === undefined) throw new Error(`no step "${label}" of ${variant} on ${host}`);
    return found;
  };
  return {
    runOn,
    claim: (host: string, id: string) => runOn(host).claims.find((c) => c.id === id)!,
    variant: (host: string, name: string): VariantRecord => runOn(host).variants.find((v) => v.name === name)!,
    step,
    /** The step's op records of one kind. */
    ops: (host: string, variant: string, label: string, op: string): OpResult[] =>
      step(host, variant, label).ops.filter((record) => record.op === op),
    /** The labels of the steps that left a snapshot. */
    labels: (host: string, variant: string) =>
      runOn(host)
        .steps.filter((s) => s.variant === variant)
        .map((s) => s.label),
    brk: (record: StepRecord) => Number(BigInt(record.brk)),
  };
}
