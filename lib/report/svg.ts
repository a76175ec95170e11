/**
 * A self-contained SVG chart of experiment runs: for each experiment and each of
 * its variants, one small panel per measure (RssAnon, VmSize, the program break as
 * an offset from the variant's first step), with every world overlaid. When the
 * worlds live on scales too far apart to share an axis (node's VmSize is hundreds
 * of MiB, fresh's a few), the panel splits into one lane per world so every
 * change stays visible. Output depends only on the runs (no dates, no random ids).
 */
import { AGEING_STEP } from '../experiments/framework/ageing.js';
import type { ExperimentRun, StepRecord } from '../experiments/framework/runner.js';
import type { Verdict } from '../experiments/framework/types.js';
import { formatBytes } from '../infra/units.js';
import { typeError } from '../infra/validate.js';
import { byExperiment, worldOf } from './run-summary.js';
import {
  brokenLine,
  byteAxis,
  byteScale,
  escapeXml,
  heading,
  INK,
  line,
  n,
  plotArea,
  spans,
  svgDocument,
  text,
  truncate,
  wrapWords,
} from './svg-toolkit.js';
import { stoppedText } from './text.js';

const WIDTH = 1000;
const MARGIN = 24;
/** Rough glyph width for 11 px text, enough to size label space and truncate. */
const CHAR = 6.2;
const AXIS_WIDTH = 62;
const PLOT_HEIGHT = 150;
const PANEL_GAP = 22;
const LABEL_ANGLE = 35;
const MAX_LABEL = 24;

export const WORLD_ORDER = ['node', 'fresh', 'aged/node', 'aged/fresh'];
export const WORLD_STYLE: Record<string, { colour: string; dash: string; what: string }> = {
  node: { colour: '#2563eb', dash: '', what: 'a Node process' },
  fresh: { colour: '#ea580c', dash: '6 4', what: 'no Node inside' },
  'aged/node': { colour: '#0f766e', dash: '', what: 'Node, aged heap' },
  'aged/fresh': { colour: '#7c3aed', dash: '6 4', what: 'no Node, aged heap' },
};
export const styleOf = (world: string) => WORLD_STYLE[world] ?? WORLD_STYLE['fresh']!;
/** Node-hosted worlds draw circles, standalone ones squares. */
const inNode = (world: string) => world === 'node' || world === 'aged/node';

/** A world's point centred on (cx, cy), in its colour; inside is its tooltip, if it has one. */
export function worldMarker(world: string, cx: number, cy: number, inside = ''): string {
  const colour = styleOf(world).colour;
  const end = (tag: string) => (inside === '' ? '/>' : `>${inside}</${tag}>`);
  return inNode(world)
    ? `<circle cx="${n(cx)}" cy="${n(cy)}" r="3.5" fill="${colour}"${end('circle')}`
    : `<rect x="${n(cx - 3.5)}" y="${n(cy - 3.5)}" width="7" height="7" fill="#fff" stroke="${colour}" stroke-width="2"${end('rect')}`;
}
const VERDICT_COLOUR: Record<Verdict, string> = { confirmed: '#15803d', refuted: '#b91c1c', inconclusive: '#6b7280' };

export interface Measure {
  title: string;
  note: string;
  signed: boolean;
  value(step: StepRecord, first: StepRecord): number | null;
}

export const MEASURES: Measure[] = [
  {
    title: 'RssAnon',
    note: 'anonymous resident memory',
    signed: false,
    value: (step) => step.status['RssAnon'] ?? null,
  },
  { title: 'VmSize', note: 'virtual address space', signed: false, value: (step) => step.status['VmSize'] ?? null },
  {
    title: 'Δ program break',
    note: "sbrk(0) − the variant's first step",
    signed: true,
    value: (step, first) => {
      try {
        return Number(BigInt(step.brk) - BigInt(first.brk));
      } catch {
        return null;
      }
    },
  },
];

export interface Series {
  world: string;
  values: (number | null)[];
}

/** Shared axis unless some world's own movement would shrink below a tenth of it. */
function needsLanes(series: Series[], includeZero: boolean): boolean {
  if (series.length < 2) return false;
  const all = series.flatMap((one) => one.values.filter((value): value is number => value !== null));
  if (all.length === 0) return false;
  const shared = byteScale(all, 5, includeZero);
  return series.some((one) => {
    const own = one.values.filter((value): value is number => value !== null);
    if (own.length < 2) return false;
    const span = Math.max(...own) - Math.min(...own);
    return span > 0 && span < 0.1 * (shared.hi - shared.lo);
  });
}

function drawSeries(one: Series, xs: number[], y: (value: number) => number, label: (index: number) => string): string {
  const style = styleOf(one.world);
  const parts: string[] = [];
  const { lines } = brokenLine(
    one.values.map((value, index) => (value === null ? null : `${n(xs[index]!)},${n(y(value))}`)),
  );
  for (const run of lines) {
    parts.push(
      `<polyline points="${run.join(' ')}" fill="none" stroke="${style.colour}" stroke-width="2" stroke-linejoin="round"` +
        (style.dash ? ` stroke-dasharray="${style.dash}"` : '') +
        '/>',
    );
  }
  one.values.forEach((value, index) => {
    if (value === null) return;
    const cx = xs[index]!;
    const cy = y(value);
    parts.push(worldMarker(one.world, cx, cy, `<title>${escapeXml(label(index))}</title>`));
  });
  return parts.join('');
}

/** Gridlines, y tick labels and the series of one lane (the whole plot, or a world's share of it). */
function drawLane(
  series: Series[],
  measure: Measure,
  box: { x: number; y: number; width: number; height: number },
  xs: number[],
  stepLabels: string[],
  tag?: string,
): string {
  const values = series.flatMap((one) => one.values.filter((value): value is number => value !== null));
  const parts: string[] = [];
  if (values.length === 0) {
    parts.push(text(box.x + box.width / 2, box.y + box.height / 2, 'no samples', { anchor: 'middle', fill: INK.note }));
    return parts.join('');
  }
  const axis = byteAxis(box, byteScale(values, tag === undefined ? 5 : 2, measure.signed), measure.signed);
  const y = axis.y;
  parts.push(...axis.svg);
  if (tag !== undefined) {
    parts.push(text(box.x + 4, box.y + 10, tag, { size: 10, weight: 'bold', fill: styleOf(tag).colour }));
  }
  for (const one of series) {
    parts.push(
      drawSeries(one, xs, y, (index) => {
        const value = one.values[index];
        return `${one.world} · ${stepLabels[index]} · ${measure.title} ${value === null || value === undefined ? 'n/a' : formatBytes(value, { signed: measure.signed })}`;
      }),
    );
  }
  return parts.join('');
}

/** Height the rotated x labels need below a plot. */
function labelDepth(labels: string[]): number {
  const longest = Math.max(1, ...labels.map((label) => truncate(label, MAX_LABEL).length));
  return Math.ceil(Math.sin((LABEL_ANGLE * Math.PI) / 180) * longest * CHAR) + 18;
}

export function drawPanel(
  measure: Measure,
  series: Series[],
  stepLabels: string[],
  x: number,
  y: number,
  width: number,
): string {
  const parts: string[] = [];
  parts.push(heading(x, y, measure.title, measure.note));
  const plot = { x: x + AXIS_WIDTH, y: y + 22, width: width - AXIS_WIDTH - 8, height: PLOT_HEIGHT };
  const count = stepLabels.length;
  const slot = plot.width / Math.max(1, count);
  const xs = stepLabels.map((_, index) => plot.x + slot * (index + 0.5));
  parts.push(plotArea(plot));
  for (const sx of xs) parts.push(line(sx, plot.y, sx, plot.y + plot.height, '#f0f0f0'));
  if (needsLanes(series, measure.signed)) {
    const pad = 8;
    const gap = 22;
    const laneHeight = (plot.height - 2 * pad - gap * (series.length - 1)) / series.length;
    series.forEach((one, index) => {
      const laneY = plot.y + pad + index * (laneHeight + gap);
      if (index > 0) {
        const divider = laneY - gap / 2;
        parts.push(line(plot.x, divider, plot.x + plot.width, divider, '#9ca3af', ' stroke-dasharray="2 3"'));
      }
      parts.push(
        drawLane(
          [one],
          measure,
          { x: plot.x, y: laneY, width: plot.width, height: laneHeight },
          xs,
          stepLabels,
          one.world,
        ),
      );
    });
  } else {
    parts.push(drawLane(series, measure, { ...plot, y: plot.y + 6, height: plot.height - 12 }, xs, stepLabels));
  }
  // Thin the labels when steps are packed closer than a line of text.
  const every = Math.max(1, Math.ceil(13 / slot));
  stepLabels.forEach((label, index) => {
    if (index % every !== 0 && index !== count - 1) return;
    const lx = xs[index]! + 3;
    const ly = plot.y + plot.height + 12;
    parts.push(
      line(xs[index]!, plot.y + plot.height, xs[index]!, plot.y + plot.height + 4, INK.note),
      text(lx, ly, truncate(label, MAX_LABEL), {
        size: 10,
        anchor: 'end',
        fill: '#374151',
        transform: `rotate(-${LABEL_ANGLE} ${n(lx)} ${n(ly)})`,
        title: label,
      }),
    );
  });
  return parts.join('');
}

/** A panel's whole height for these step labels: heading, plot, and the rotated labels under it. */
export function panelHeightFor(stepLabels: string[]): number {
  return 22 + PLOT_HEIGHT + labelDepth(stepLabels);
}

/**
 * One variant's values in every run given: the step labels (in order, each label and
 * occurrence once) and, per measure of MEASURES, one series per run.
 */
export function variantSeries(active: ExperimentRun[], variant: string): { stepLabels: string[]; series: Series[][] } {
  const perWorld = active.map((run) => ({
    world: run.world,
    steps: keyedSteps(run.steps.filter((step) => step.variant === variant)),
  }));
  // An aged world's ageing step comes before the program's first, whichever world lists the steps first.
  const keys = unique(perWorld.flatMap((one) => [...one.steps.keys()])).sort(
    (a, b) => Number(b.startsWith(`${AGEING_STEP}\u0000`)) - Number(a.startsWith(`${AGEING_STEP}\u0000`)),
  );
  const stepLabels = keys.map((key) => key.split('\u0000')[0]!);
  const series = MEASURES.map((measure) =>
    perWorld.map((one) => {
      const firstStep = one.steps.values().next().value;
      return {
        world: one.world,
        values: keys.map((key) => {
          const step = one.steps.get(key);
          if (step === undefined || firstStep === undefined) return null;
          const value = measure.value(step, firstStep);
          return value === null || !Number.isFinite(value) ? null : value;
        }),
      };
    }),
  );
  return { stepLabels, series };
}

/** Steps of one variant in one world, keyed by label and occurrence (labels may repeat). */
function keyedSteps(steps: StepRecord[]): Map<string, StepRecord> {
  const seen = new Map<string, number>();
  const keyed = new Map<string, StepRecord>();
  for (const step of steps) {
    const occurrence = seen.get(step.label) ?? 0;
    seen.set(step.label, occurrence + 1);
    keyed.set(`${step.label}\u0000${occurrence}`, step);
  }
  return keyed;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function renderGroup(runs: ExperimentRun[], top: number): { svg: string; height: number } {
  const first = runs[0]!;
  const parts: string[] = [];
  let y = top;
  const title = `${first.experiment} · glibc ${first.glibc} · allocator ${first.allocator}`;
  parts.push(line(MARGIN, y, WIDTH - MARGIN, y, INK.frame));
  y += 24;
  parts.push(text(MARGIN, y, title, { size: 16, weight: 'bold' }));
  y += 18;
  const details = [
    first.title,
    `seed ${first.seeds.join(', ')}`,
    `kernel ${first.kernel}`,
    ...Object.entries(first.parameters).map(([key, value]) => `${key}=${value}`),
    ...Object.entries(first.env).map(([key, value]) => `${key}=${value}`),
  ].join(' · ');
  for (const row of wrapWords(details, Math.floor((WIDTH - 2 * MARGIN) / CHAR))) {
    parts.push(text(MARGIN, y, row, { size: 11, fill: INK.label }));
    y += 15;
  }

  const active = runs
    .filter((run) => run.skipped === undefined)
    .sort((a, b) => WORLD_ORDER.indexOf(a.world) - WORLD_ORDER.indexOf(b.world));
  for (const run of runs.filter((candidate) => candidate.skipped !== undefined)) {
    for (const row of wrapWords(`${run.world}: skipped — ${run.skipped}`, Math.floor((WIDTH - 2 * MARGIN) / CHAR))) {
      parts.push(text(MARGIN, y, row, { size: 11, fill: '#92400e', style: 'italic' }));
      y += 15;
    }
  }

  const variants = unique(
    active.flatMap((run) => [...run.variants.map((variant) => variant.name), ...run.steps.map((step) => step.variant)]),
  );
  for (const variant of variants) {
    y += 14;
    const description =
      active.flatMap((run) => run.variants).find((candidate) => candidate.name === variant)?.description ?? '';
    parts.push(
      spans(
        MARGIN,
        y,
        [
          { content: `variant ${variant}`, size: 13, weight: 'bold' },
          { content: description ? `   ${truncate(description, 110)}` : '', fill: INK.label },
        ],
        description,
      ),
    );
    y += 6;
    for (const run of active) {
      const record = run.variants.find((candidate) => candidate.name === variant);
      if (record === undefined || record.completed) continue;
      const why = `${run.world}: ${stoppedText(record)}`;
      y += 14;
      parts.push(text(MARGIN, y, truncate(why, 150), { size: 11, fill: '#b91c1c', title: why }));
      y += 4;
    }
    y += 8;

    const { stepLabels, series: seriesOf } = variantSeries(active, variant);
    const columns = stepLabels.length <= 8 ? MEASURES.length : 1;
    const panelWidth = (WIDTH - 2 * MARGIN - PANEL_GAP * (columns - 1)) / columns;
    const panelHeight = panelHeightFor(stepLabels);
    MEASURES.forEach((measure, index) => {
      const column = index % columns;
      const row = Math.floor(index / columns);
      const series = seriesOf[index]!;
      parts.push(
        drawPanel(
          measure,
          series,
          stepLabels,
          MARGIN + column * (panelWidth + PANEL_GAP),
          y + row * (panelHeight + 10),
          panelWidth,
        ),
      );
    });
    y += Math.ceil(MEASURES.length / columns) * (panelHeight + 10);
  }

  if (active.length > 0 && active.some((run) => run.claims.length > 0)) {
    y += 12;
    parts.push(text(MARGIN, y, 'claims', { size: 13, weight: 'bold' }));
    const ids = unique(active.flatMap((run) => run.claims.map((claim) => claim.id)));
    for (const id of ids) {
      y += 17;
      const claim = active.flatMap((run) => run.claims).find((candidate) => candidate.id === id)!;
      parts.push(text(MARGIN + 8, y, id, { size: 11, weight: 'bold', title: claim.claim }));
      let x = MARGIN + 8 + Math.max(190, id.length * 8 + 20);
      for (const run of active) {
        const result = run.claims.find((candidate) => candidate.id === id);
        if (result === undefined) continue;
        parts.push(
          spans(
            x,
            y,
            [
              { content: `${run.world}: `, weight: 'bold', fill: styleOf(run.world).colour },
              { content: result.verdict, fill: VERDICT_COLOUR[result.verdict] },
            ],
            result.evidence,
          ),
        );
        x += 160;
      }
      parts.push(text(x + 10, y, truncate(claim.claim, 66), { size: 10, fill: INK.note, title: claim.claim }));
    }
    y += 8;
  }
  return { svg: parts.join('\n'), height: y - top + 16 };
}

function legend(y: number, worlds: string[]): string {
  const parts: string[] = [];
  let x = MARGIN;
  for (const world of WORLD_ORDER.filter((candidate) => worlds.includes(candidate))) {
    const style = styleOf(world);
    parts.push(
      line(
        x,
        y - 4,
        x + 34,
        y - 4,
        style.colour,
        ` stroke-width="2"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}`,
      ),
      worldMarker(world, x + 17, y - 4),
      spans(x + 42, y, [
        { content: world, size: 12, weight: 'bold', fill: style.colour },
        { content: `  (${style.what})`, fill: INK.label },
      ]),
    );
    x += 240;
  }
  return parts.join('\n');
}

export function renderSvg(runs: ExperimentRun[]): string {
  if (!Array.isArray(runs))
    throw typeError('renderSvg', 'runs', 'an array of experiment runs (from runExperiment)', runs);
  const body: string[] = [];
  let y = 30;
  body.push(text(MARGIN, y, 'malloc-lab: what the kernel sees at each step', { size: 18, weight: 'bold' }));
  y += 24;
  const worlds = runs.map(worldOf);
  body.push(legend(y, worlds.length > 0 ? worlds : ['node', 'fresh']));
  y += 12;
  body.push(
    text(
      MARGIN,
      y + 6,
      'Worlds share an axis where their values are comparable; otherwise a panel splits into one lane per world, each with its own axis.',
      {
        size: 10,
        fill: INK.note,
      },
    ),
  );
  y += 16;

  // One section per experiment and allocator, in the order the runs came.
  const groups = byExperiment(runs);
  if (groups.length === 0) {
    y += 20;
    body.push(text(MARGIN, y, 'no runs', { size: 12, fill: INK.note }));
    y += 10;
  }
  for (const group of groups) {
    const section = renderGroup(group, y);
    body.push(section.svg);
    y += section.height;
  }
  const height = Math.ceil(y + 8);
  return svgDocument(WIDTH, height, body);
}

export { escapeXml } from './svg-toolkit.js';
