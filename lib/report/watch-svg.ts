/**
 * A small self-contained SVG line chart of a `malloc-lab watch` series: resident
 * memory (VmRSS, RssAnon, RssFile and VmHWM) over time, and the address space
 * (VmSize) in a panel of its own, since it is usually far larger. Same look as
 * report/svg.ts; output depends only on the result (no dates beyond the
 * result's own, no random ids).
 */
import type { WatchResult, WatchSample } from '../process/watch.js';
import * as svg from './svg-toolkit.js';

const WIDTH = 900;
const MARGIN = 24;
const AXIS_WIDTH = 70;

interface Series {
  field: keyof WatchSample;
  label: string;
  colour: string;
  dash?: string;
}

function panel(
  samples: WatchSample[],
  lines: Series[],
  title: string,
  note: string,
  top: number,
  plotHeight: number,
  seconds: number,
  fromZero: boolean,
): { svg: string; height: number } {
  const parts: string[] = [svg.heading(MARGIN, top, title, note)];
  const plot = { x: MARGIN + AXIS_WIDTH, y: top + 22, width: WIDTH - 2 * MARGIN - AXIS_WIDTH, height: plotHeight };
  parts.push(svg.plotArea(plot));
  const values = lines.flatMap((series) => samples.map((sample) => sample[series.field]).filter(Number.isFinite));
  const time = svg.timeAxis(plot, seconds);
  const xOf = time.x;
  parts.push(...time.svg);
  const axis = svg.valuesAxis(plot, values, fromZero);
  parts.push(...axis.svg);
  const yOf = axis.y;
  if (yOf === null) return { svg: parts.join('\n'), height: 22 + plotHeight + 22 };
  for (const series of lines) {
    parts.push(
      ...svg.seriesLine(
        samples.map((sample) => {
          const value = sample[series.field];
          return Number.isFinite(value) ? `${svg.n(xOf(sample.t))},${svg.n(yOf(value))}` : null;
        }),
        {
          colour: series.colour,
          width: series.dash ? 1.5 : 2,
          ...(series.dash ? { dash: series.dash } : {}),
          title: series.label,
        },
      ),
    );
  }
  return { svg: parts.join('\n'), height: 22 + plotHeight + 24 };
}

export function renderWatchSvg(result: WatchResult): string {
  const samples = result.samples;
  const seconds = Math.max(samples.at(-1)?.t ?? 0, result.elapsedMs, 1) / 1000;
  const body: string[] = [];
  let y = 30;
  const command =
    result.cmdline && result.cmdline.length > 0 ? result.cmdline.join(' ') : result.comm ? `[${result.comm}]` : '';
  body.push(svg.text(MARGIN, y, `malloc-lab watch — pid ${result.pid}`, { size: 17, weight: 'bold' }));
  y += 18;
  if (command) {
    body.push(svg.text(MARGIN, y, svg.truncate(command, 130), { size: 11, fill: '#374151' }));
    y += 16;
  }
  const stop =
    result.stopped === 'exited'
      ? `the process exited after ${(result.elapsedMs / 1000).toFixed(1)} s`
      : result.stopped === 'duration'
        ? `stopped after ${(result.elapsedMs / 1000).toFixed(1)} s`
        : `interrupted after ${(result.elapsedMs / 1000).toFixed(1)} s`;
  body.push(
    svg.text(MARGIN, y, `${samples.length} samples every ${result.intervalMs} ms from ${result.startedAt}; ${stop}`, {
      size: 11,
      fill: svg.INK.note,
    }),
  );
  y += 14;

  const resident: Series[] = [
    { field: 'VmRSS', label: 'VmRSS', colour: '#2563eb' },
    { field: 'RssAnon', label: 'RssAnon', colour: '#ea580c' },
    { field: 'RssFile', label: 'RssFile', colour: '#16a34a' },
    {
      field: 'VmHWM',
      label: result.peaks ? 'VmHWM: peak since the previous sample' : 'VmHWM: peak since the process started',
      colour: '#6b7280',
      dash: '5 3',
    },
  ];
  // Legend.
  y += 10;
  let x = MARGIN;
  for (const series of resident) {
    body.push(
      svg.line(
        x,
        y - 4,
        x + 26,
        y - 4,
        series.colour,
        ` stroke-width="2"${series.dash ? ` stroke-dasharray="${series.dash}"` : ''}`,
      ),
      svg.text(x + 32, y, series.label, { size: 11, fill: '#374151' }),
    );
    x += 40 + series.label.length * 6.2 + 18;
  }
  y += 12;

  const top = panel(samples, resident, 'resident memory', 'from /proc/<pid>/status', y, 220, seconds, true);
  body.push(top.svg);
  y += top.height + 8;
  const bottom = panel(
    samples,
    [{ field: 'VmSize', label: 'VmSize', colour: '#7c3aed' }],
    'VmSize',
    'address space reserved',
    y,
    100,
    seconds,
    false,
  );
  body.push(bottom.svg);
  y += bottom.height;

  if (result.stopped === 'exited') {
    body.push(svg.text(WIDTH - MARGIN, y, `pid ${result.pid} exited`, { size: 11, fill: '#b91c1c', anchor: 'end' }));
    y += 6;
  }
  const height = Math.ceil(y + 12);
  return svg.svgDocument(WIDTH, height, body);
}
