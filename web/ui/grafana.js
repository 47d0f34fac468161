// Turns a dashboard definition (beacon.js, sextant.js) into a Grafana dashboard JSON for provisioning, with a
// Prometheus data-source variable. Pure: used in the browser (download button) and by
// tests/ui/gen-grafana.mjs, which writes dashboards/grafana/beacon.json and sextant.json.
import { NETWORKS } from './beacon.js';

const DS = { type: 'prometheus', uid: '${datasource}' };
const UNITS = { s: 's', percent: 'percentunit', ops: 'ops', bytes: 'bytes' };

function queryVariable(name, label, query) {
  return {
    type: 'query', name, label, datasource: DS,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    includeAll: true, allValue: '.+', multi: true, refresh: 2, sort: 1, regex: '', hide: 0,
    current: { selected: true, text: ['All'], value: ['$__all'] }, options: [],
  };
}

function textVariable(name, label, value) {
  return { type: 'textbox', name, label, query: String(value), hide: 0, current: { text: String(value), value: String(value) }, options: [] };
}

function thresholds(p) {
  if (!p.thresholds) return {};
  return {
    color: { mode: 'thresholds' },
    thresholds: {
      mode: 'absolute',
      steps: p.thresholds.below
        ? [{ color: 'red', value: null }, { color: 'orange', value: p.thresholds.bad + 1 }, { color: 'green', value: p.thresholds.warn + 1 }]
        : [{ color: 'green', value: null }, { color: 'orange', value: p.thresholds.warn }, { color: 'red', value: p.thresholds.bad }],
    },
  };
}

function targets(panel) {
  const refs = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const out = panel.queries.map((x, i) => ({
    refId: refs[i], datasource: DS, expr: x.expr, legendFormat: x.legend || '__auto', range: panel.type === 'timeseries' || panel.type === 'heatmap',
    instant: panel.type === 'stat' || panel.type === 'conformance' || panel.type === 'table', ...(panel.type === 'conformance' ? { format: 'table' } : {}),
  }));
  if (panel.typed) {
    // Grafana cannot choose per node by metric type: the gauge variant is there, hidden, for gauge clients.
    panel.typed.gauge.forEach((x, i) => out.push({
      refId: refs[panel.queries.length + i], datasource: DS, expr: x.expr, legendFormat: `${x.legend} (gauge)`, range: true, instant: false, hide: true,
    }));
  }
  return out;
}

/** The Grafana JSON model (schema 39) of a dashboard definition. */
export function toGrafana(def) {
  const nodes = `{__name__=~"${def.nodeMetrics.join('|')}"}`;
  const nodesOfJob = `{__name__=~"${def.nodeMetrics.join('|')}",job=~"$job"}`;
  const panels = [];
  let id = 1; let y = 0;
  for (const row of def.rows) {
    panels.push({ type: 'row', id: id++, title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    let x = 0; let rowH = 0;
    for (const p of row.panels) {
      const [w, h] = p.type === 'table' ? [24, 7] : p.wide ? [24, 10] : p.type === 'stat' ? [4, 4] : [12, 8];
      if (x + w > 24) { x = 0; y += rowH; rowH = 0; }
      const base = {
        id: id++, title: p.title, description: p.description || '', datasource: DS, targets: targets(p),
        gridPos: { h, w, x, y },
      };
      const unit = UNITS[p.unit] || 'none';
      if (p.type === 'stat') {
        panels.push({
          ...base, type: 'stat',
          fieldConfig: { defaults: { unit, ...thresholds(p) }, overrides: [] },
          options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, textMode: 'value_and_name', colorMode: 'value', graphMode: 'none', justifyMode: 'auto', orientation: 'auto' },
        });
      } else if (p.type === 'heatmap') {
        panels.push({
          ...base, type: 'heatmap',
          targets: base.targets.map((t) => ({ ...t, format: 'heatmap' })),
          fieldConfig: { defaults: {}, overrides: [] },
          options: { calculate: false, yAxis: { unit }, cellGap: 1, color: { mode: 'scheme', scheme: 'Blues', fill: 'dark-blue', steps: 64 }, tooltip: { show: true, yHistogram: true } },
        });
      } else if (p.type === 'table') {
        // one instant query per column, merged into one row per node
        panels.push({
          ...base, type: 'table',
          targets: base.targets.map((t) => ({ ...t, format: 'table', instant: true, range: false })),
          transformations: [
            { id: 'merge', options: {} },
            { id: 'organize', options: { excludeByName: { Time: true }, renameByName: Object.fromEntries(p.queries.map((x, i) => [`Value #${'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i]}`, x.legend])) } },
          ],
          fieldConfig: { defaults: {}, overrides: [] },
          options: { showHeader: true },
        });
      } else if (p.type === 'conformance') {
        panels.push({ ...base, type: 'table', fieldConfig: { defaults: {}, overrides: [] }, options: { showHeader: true } });
      } else {
        panels.push({
          ...base, type: 'timeseries',
          fieldConfig: {
            defaults: {
              unit,
              custom: {
                drawStyle: p.style === 'bars' ? 'bars' : p.style === 'points' ? 'points' : 'line',
                fillOpacity: p.stacked || p.style === 'bars' ? 40 : 0,
                stacking: { mode: p.stacked ? 'normal' : 'none', group: 'A' },
                showPoints: 'never', spanNulls: false, lineWidth: 1,
              },
            },
            overrides: [],
          },
          options: { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } },
        });
      }
      x += w; rowH = Math.max(rowH, h);
    }
    y += rowH;
  }
  const net = NETWORKS.mainnet;
  return {
    uid: def.uid,
    title: def.title,
    description: def.description,
    tags: def.tags || ['sextant', 'ethereum', 'beacon-chain'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', regex: '', hide: 0, refresh: 1, current: {}, options: [] },
        queryVariable('job', 'Job', `label_values(${nodes}, job)`),
        queryVariable('instance', def.network === false ? 'Instance' : 'Node', `label_values(${nodesOfJob}, instance)`),
        ...(def.network === false ? [] : [
          textVariable('seconds_per_slot', 'Seconds per slot', net.seconds_per_slot),
          textVariable('slots_per_epoch', 'Slots per epoch', net.slots_per_epoch),
          textVariable('genesis_time', 'Genesis time (Unix s)', net.genesis_time),
        ]),
      ],
    },
    annotations: { list: [] },
    links: [],
    panels,
  };
}
