/** Parses Prometheus text exposition into series, for the metrics tests. */
export interface Series { name: string; labels: Record<string, string>; value: number; key: string }

export function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const key = `${m[1]}{${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',')}}`;
    out.push({ name: m[1], labels, value: Number(m[3]), key });
  }
  return out;
}

export function value(series: Series[], name: string, labels: Record<string, string>): number | undefined {
  return series.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
