/**
 * A comparison as an SVG line chart: RSS over time with one line per
 * configuration (its run with the median final RSS), and RssAnon in a second
 * panel. Each allocator has a colour, each configuration of it a dash pattern.
 * Configurations without numbers (not applied, missing) are named, not drawn.
 * Output depends only on the result (no random ids, no clock).
 */
import { type CompareResult, type CompareRun, isCompareResult } from '../compare/types.js';
import { formatBytes } from '../infra/units.js';
import { typeError } from '../infra/validate.js';
import * as svg from './svg-toolkit.js';

const WIDTH = 900;
const MARGIN = 24;
const AXIS_WIDTH = 70;
const PLOT_HEIGHT = 230;

const COLOURS: Record<string, string> = {
  glibc: '#2563eb',
  jemalloc: '#dc2626',
  tcmalloc: '#16a34a',
  mimalloc: '#9333ea',
  other: '#ea580c',
};
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

interface Line {
  name: string;
  colour: string;
  dash: string;
  run: CompareRun;
}

/** The run of a configuration whose final RSS is the median one (the lower middle for an even count). */
export function representativeRun(result: CompareResult, configuration: string): CompareRun | undefined {
  const runs = result.runs
    .filter((run) => run.configuration === configuration && run.rss !== null)
    .sort((a, b) => a.rss!.final - b.rss!.final);
  return runs[Math.floor((runs.length - 1) / 2)];
}

function panel(
  lines: Line[],
  field: 'rss' | 'rssAnon',
  title: string,
  note: string,
  top: number,
  seconds: number,
): { svg: string; height: number } {
  const parts: string[] = [svg.heading(MARGIN, top, title, note)];
  const plot = { x: MARGIN + AXIS_WIDTH, y: top + 22, width: WIDTH - 2 * MARGIN - AXIS_WIDTH, height: PLOT_HEIGHT };
  parts.push(svg.plotArea(plot));
  const time = svg.timeAxis(plot, seconds);
  parts.push(...time.svg);
  const values = lines.flatMap((line) => line.run.series[field]);
  const axis = svg.valuesAxis(plot, values, true);
  parts.push(...axis.svg);
  const yOf = axis.y;
  if (yOf === null) return { svg: parts.join('\n'), height: 22 + PLOT_HEIGHT + 24 };
  for (const line of lines) {
    const { t } = line.run.series;
    const samples = line.run.series[field];
    parts.push(
      ...svg.seriesLine(
        samples.map((value, index) => `${svg.n(time.x(t[index]!))},${svg.n(yOf(value))}`),
        {
          colour: line.colour,
          width: 1.8,
          ...(line.dash ? { dash: line.dash } : {}),
          title: `${line.name}: final ${formatBytes(samples.at(-1) ?? NaN)}`,
        },
      ),
    );
  }
  return { svg: parts.join('\n'), height: 22 + PLOT_HEIGHT + 24 };
}

export function renderCompareSvg(result: CompareResult): string {
  if (!isCompareResult(result))
    throw typeError('renderCompareSvg', 'result', 'the result of compareAllocators()', result);
  const lines: Line[] = [];
  const absent: string[] = [];
  const perFamily = new Map<string, number>();
  for (const summary of result.summary) {
    const configuration = result.configurations.find((candidate) => candidate.name === summary.configuration);
    const run = summary.rss !== null ? representativeRun(result, summary.configuration) : undefined;
    if (configuration === undefined || run === undefined) {
      absent.push(`${summary.configuration} (${summary.status.replace('-', ' ')})`);
      continue;
    }
    const family = configuration.allocator;
    const index = perFamily.get(family) ?? 0;
    perFamily.set(family, index + 1);
    lines.push({
      name: summary.configuration,
      colour: COLOURS[family] ?? COLOURS['other']!,
      dash: DASHES[index % DASHES.length]!,
      run,
    });
  }
  const seconds = Math.max(1, ...lines.map((line) => line.run.series.t.at(-1) ?? 0)) / 1000;

  const body: string[] = [];
  let y = 30;
  const command = result.command.join(' ');
  body.push(svg.text(MARGIN, y, `malloc-lab compare — ${svg.truncate(command, 90)}`, { size: 17, weight: 'bold' }));
  y += 18;
  const repeat = result.options.repeat;
  body.push(
    svg.text(
      MARGIN,
      y,
      `one line per configuration${repeat > 1 ? `: its run with the median final RSS of ${repeat}` : ''}; sampled every ${result.options.intervalMs} ms${result.options.tree ? ', process tree summed' : ''}; ${result.startedAt}`,
      { size: 11, fill: svg.INK.note },
    ),
  );
  y += 14;
  if (absent.length > 0) {
    body.push(svg.text(MARGIN, y, `not drawn: ${absent.join(', ')}`, { size: 11, fill: '#b91c1c' }));
    y += 14;
  }

  // Legend: swatch, name, final RSS; as many per row as fit.
  y += 12;
  let x = MARGIN;
  for (const line of lines) {
    const label = `${line.name} ${formatBytes(line.run.rss?.final ?? NaN)}`;
    const width = 34 + label.length * 6.2 + 16;
    if (x + width > WIDTH - MARGIN && x > MARGIN) {
      x = MARGIN;
      y += 16;
    }
    body.push(
      svg.line(
        x,
        y - 4,
        x + 26,
        y - 4,
        line.colour,
        ` stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}`,
      ),
      svg.text(x + 32, y, label, { size: 11, fill: '#374151' }),
    );
    x += width;
  }
  y += 12;

  const top = panel(lines, 'rss', 'RSS', 'resident set: /proc/<pid>/statm', y, seconds);
  body.push(top.svg);
  y += top.height + 8;
  const bottom = panel(
    lines,
    'rssAnon',
    'RssAnon',
    'anonymous resident memory: the heaps, malloc and mmap',
    y,
    seconds,
  );
  body.push(bottom.svg);
  y += bottom.height;
  return svg.svgDocument(WIDTH, Math.ceil(y + 12), body);
}
