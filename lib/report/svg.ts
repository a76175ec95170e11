export function renderSvg(_runs: unknown[]): string { return ''; }
