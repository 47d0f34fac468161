// Thin client for the Prometheus HTTP API (/api/v1). Every call resolves to `{data, warnings}` or
// throws an ApiError carrying the server's errorType and message.

/** An error answered by the API (or the network), with a message fit to show the user. */
export class ApiError extends Error {
  constructor(message, errorType = 'error', status = 0) {
    super(message);
    this.errorType = errorType;
    this.status = status;
  }
}

/**
 * GET /api/v1/<path> with the given params (values may be arrays for repeated keys such as match[]).
 * `signal` aborts the request.
 */
export async function api(path, params = {}, signal) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, String(one));
  }
  const url = `/api/v1/${path}${qs.toString() ? '?' + qs : ''}`;
  let resp;
  try {
    resp = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${e.message}`, 'network');
  }
  const text = await resp.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(`${resp.status} ${resp.statusText} from ${path}: ${text.slice(0, 300) || 'empty body'}`, 'bad_response', resp.status);
  }
  if (body.status !== 'success') {
    throw new ApiError(body.error || `${resp.status} ${resp.statusText}`, body.errorType || 'error', resp.status);
  }
  const warnings = [...(body.warnings || []), ...(body.infos || [])];
  return { data: body.data, warnings };
}

/** Seconds since the epoch, as the API wants times. */
export const nowSec = () => Date.now() / 1000;

/** Parses a Prometheus duration ("5m", "1h30m", "90s", "2d") to seconds; NaN when invalid. */
export function parseDuration(s) {
  const m = String(s).trim().match(/^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/);
  if (!m || !String(s).trim()) return NaN;
  const mult = [31536000, 604800, 86400, 3600, 60, 1, 0.001];
  return m.slice(1).reduce((acc, v, i) => acc + (v ? Number(v) * mult[i] : 0), 0);
}

/** Formats seconds as a compact Prometheus duration ("1h30m", "15s"). */
export function formatDuration(sec) {
  if (!(sec > 0)) return '0s';
  if (sec < 1) return `${Math.round(sec * 1000)}ms`;
  const units = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  let rest = Math.round(sec);
  let out = '';
  for (const [u, n] of units) {
    if (rest >= n) { out += Math.floor(rest / n) + u; rest %= n; }
  }
  return out;
}

/** A step giving about `points` points over `rangeSec`, rounded to a whole second (at least 1 s). */
export function autoStep(rangeSec, points = 250) {
  return Math.max(1, Math.round(rangeSec / points));
}

/** `{a="b", c="d"}` of a metric's labels, name first. */
export function formatSeries(metric = {}) {
  const name = metric.__name__ || '';
  const labels = Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return labels ? `${name}{${labels}}` : name || '{}';
}

/** Applies a Grafana-style legend format ("{{instance}} {{status}}") to a metric. */
export function legendFor(format, metric) {
  if (!format) return formatSeries(metric);
  return format.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, k) => metric[k] ?? '');
}

/** Formats a sample value for display. */
export function formatValue(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 0.001 || abs >= 1e15)) return n.toExponential(3);
  return n.toLocaleString('en-US', { maximumFractionDigits: abs < 1 ? 4 : 2 });
}

/** "3.2s ago" style relative time for an RFC 3339 timestamp. */
export function ago(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return 'never';
  const s = (Date.now() - t) / 1000;
  if (s < 0) return 'just now';
  if (s < 60) return `${s.toFixed(1)}s ago`;
  return `${formatDuration(s)} ago`;
}
