// Pure helpers of the dashboard about nodes, variables and queries (no DOM; unit-tested in tests/ui).

/** Escapes a label value for use inside a PromQL regex matcher written in double quotes. */
export function regexEscape(v) {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Replaces Grafana-style variables ($name, ${name}) in an expression. */
export function expand(expr, vars) {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => {
    const k = a || b;
    return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
  });
}

/** The key of a node (instance and job) from a series' labels. */
export const nodeKey = (m) => `${m.instance ?? ''}\u0000${m.job ?? ''}`;
/** How a node is named to the user. */
export const nodeName = (n) => `${n.instance} (${n.job})`;

/** The type of `metric` on node `key`: per-target metadata, else `_created` evidence, else the only type known. */
export function typeOf(types, presence, key, metric) {
  const t = types.perNode.get(key)?.get(metric);
  if (t) return t;
  const have = presence.get(key) || new Set();
  const base = metric.replace(/_total$/, '');
  if (have.has(`${base}_created`) || have.has(`${metric}_created`)) return 'counter';
  const g = types.global.get(metric);
  if (g && g.size === 1) return [...g][0];
  return null;
}

/** The queries of a panel for these nodes, choosing counter or gauge variants per node where the panel is typed. */
export function queriesFor(p, nodes, types, presence) {
  if (!p.typed) return p.queries;
  const gauges = nodes.filter((n) => typeOf(types, presence, nodeKey(n), p.typed.metric) === 'gauge');
  const counters = nodes.filter((n) => !gauges.includes(n));
  if (!gauges.length) return p.typed.counter;
  if (!counters.length) return p.typed.gauge;
  const only = (expr, ns) => expr.replaceAll('instance=~"$instance"', `instance=~"${ns.map((n) => regexEscape(n.instance)).join('|')}"`);
  return p.typed.counter.map((c, i) => ({
    expr: `(${only(c.expr, counters)}) or (${only(p.typed.gauge[i].expr, gauges)})`,
    legend: c.legend,
  }));
}

/** Text explaining why node `n` has no series in panel `p`. */
export function whyMissing(p, n, presence) {
  const have = presence.get(nodeKey(n)) || new Set();
  const exposed = (p.metrics || []).filter((m) => have.has(m));
  if (!exposed.length) {
    const [first, ...alt] = p.metrics || [];
    return `${nodeName(n)} does not expose ${first}${alt.length ? ` (nor ${alt.join(', ')})` : ''}`;
  }
  return `${nodeName(n)} exposes ${exposed.join(', ')} but the query returned no data in this range`;
}
