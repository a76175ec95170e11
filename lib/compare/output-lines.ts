/** A child's output as lines: each handed on as it completes, the last few kept for the record. */

/** How many of the last lines a run keeps of each stream. */
export const KEPT_LINES = 20;

/** Splits stream into lines for onLine, keeping the last KEPT_LINES (each cut at 2000 characters) in keep. */
export function lines(stream: NodeJS.ReadableStream, keep: string[], onLine: (line: string) => void): void {
  let pending = '';
  const push = (line: string) => {
    keep.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (keep.length > KEPT_LINES) keep.shift();
    onLine(line);
  };
  stream.setEncoding?.('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      push(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
    }
    // A line without an end that grows without bound is cut, not kept whole.
    if (pending.length > 65536) {
      push(pending);
      pending = '';
    }
  });
  stream.on('end', () => {
    if (pending !== '') push(pending);
  });
}
