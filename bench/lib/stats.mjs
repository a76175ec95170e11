/** Order statistics for noisy machines: medians and quartiles, never means. */

export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

export function median(values) {
  return quantile(values, 0.5);
}

/** median, quartiles, extremes, and the spread: half the interquartile range, in % of the median. */
export function summarize(values) {
  const p25 = quantile(values, 0.25);
  const p75 = quantile(values, 0.75);
  const mid = median(values);
  return {
    n: values.length,
    median: mid,
    p25,
    p75,
    min: Math.min(...values),
    max: Math.max(...values),
    spreadPct: mid === 0 ? 0 : ((p75 - p25) / 2 / mid) * 100,
  };
}

/** Paired ratios (measured[i] / reference[i], one pair per round or block), summarized. */
export function pairedRatio(measured, reference) {
  const ratios = measured.map((value, i) => value / reference[i]);
  return { ...summarize(ratios), values: ratios };
}

export function nowNs() {
  return process.hrtime.bigint();
}

export function elapsedNs(start) {
  return Number(process.hrtime.bigint() - start);
}
