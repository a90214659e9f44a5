/**
 * A small typed builder for the Grafana dashboard JSON model (schemaVersion 39): just the
 * panel kinds, targets, template variables and annotations our dashboards use. Every shape is
 * Grafana's own (`@grafana/schema`, a dev dependency: types only, nothing of it is loaded at run
 * time), narrowed to what we always set, so a field Grafana does not know, or a legacy shape,
 * fails `tsc`.
 *
 * Guarantees: every panel and annotation reads the Prometheus data source chosen in the
 * dashboard's `DS_PROMETHEUS` variable; panels are laid out on Grafana's 24-column grid in the
 * order given; the output is deterministic (same input → byte-identical JSON), so a test can
 * compare the committed files with a fresh generation. Not guaranteed: that a query is right —
 * the Prometheus integration test evaluates every one of them.
 */
import type {
  AnnotationQuery, Dashboard as GrafanaDashboard, DataQuery, DataSourceRef, FieldColorModeId, FieldConfig, FieldConfigSource, GridPos,
  MappingType, Panel as GrafanaPanel, ThresholdsMode, ValueMap, VariableModel,
} from '@grafana/schema';

export const DS_VAR = 'DS_PROMETHEUS';
export const DATASOURCE = { type: 'prometheus', uid: `\${${DS_VAR}}` } as const satisfies DataSourceRef;
const GRAFANA: DataSourceRef = { type: 'grafana', uid: '-- Grafana --' };

/** A Prometheus query of a panel (Grafana's PromQuery, the fields we use; a plain object type, as Panel.targets wants). */
export type Target = Pick<DataQuery, 'refId' | 'datasource'> & { refId: string; expr: string; legendFormat: string; datasource: typeof DATASOURCE; range: boolean; instant: boolean };

export type ValueMapping = ValueMap;

export type Panel = GrafanaPanel & {
  id: number;
  type: 'timeseries' | 'state-timeline' | 'stat';
  title: string;
  description: string;
  datasource: typeof DATASOURCE;
  gridPos: GridPos;
  targets: Target[];
  fieldConfig: FieldConfigSource;
  options: Record<string, unknown>;
};

export type QueryVariable = VariableModel & {
  type: 'query'; name: string; label: string; datasource: typeof DATASOURCE; definition: string;
  query: { query: string; refId: string };
};

export type DatasourceVariable = VariableModel & { type: 'datasource'; name: typeof DS_VAR; query: 'prometheus' };

/**
 * An annotation. A Prometheus one carries its query in `target` (Grafana's current shape; the
 * legacy top-level `expr`/`step` is what Grafana migrates away from); title, text and tags
 * formats stay top-level, where the Prometheus data source reads them.
 */
export type Annotation = AnnotationQuery<DataQuery & { expr: string; interval: string }> & {
  name: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
};

export type Dashboard = GrafanaDashboard & {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  annotations: { list: Annotation[] };
  templating: { list: Array<DatasourceVariable | QueryVariable> };
  panels: Panel[];
};

/** What a panel is made of before layout. */
export interface PanelSpec {
  kind: Panel['type'];
  title: string;
  description: string;
  queries: Array<{ expr: string; legend: string }>;
  unit?: string;
  mappings?: ValueMapping[];
  /** Width in grid columns (24 = full width); default 12. */
  width?: number;
  height?: number;
  stacked?: boolean;
}

/** Value mapping for a state code gauge: code i → states[i], with a colour per state. */
export function stateMappings(states: readonly string[], colors: Record<string, string>): ValueMapping[] {
  const options: ValueMapping['options'] = {};
  states.forEach((s, i) => { options[String(i)] = { text: s, color: colors[s] ?? 'text', index: i }; });
  return [{ type: 'value' as MappingType.ValueToText, options }];
}

export function queryVariable(name: string, label: string, query: string): QueryVariable {
  return {
    type: 'query', name, label, datasource: DATASOURCE, definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2, includeAll: true, multi: true, allValue: '.*', sort: 1, hide: 0,
  };
}

export function failoverAnnotation(expr: string): Annotation {
  return {
    name: 'Failovers', datasource: DATASOURCE, enable: true, iconColor: 'red',
    target: { refId: 'Anno', datasource: DATASOURCE, expr, interval: '60s' },
    titleFormat: 'Failover of {{group}}', textFormat: 'reason {{reason}}, started by {{node}}',
    tagKeys: 'group,reason,node', useValueForTime: false,
  };
}

const BUILT_IN: Annotation = {
  name: 'Annotations & Alerts', datasource: GRAFANA, enable: true, hide: true,
  iconColor: 'rgba(0, 211, 255, 1)', builtIn: 1, type: 'dashboard',
};

export function dashboard(spec: {
  uid: string; title: string; description: string; variables: QueryVariable[]; annotations?: Annotation[]; panels: PanelSpec[];
}): Dashboard {
  return {
    uid: spec.uid, title: spec.title, description: spec.description, tags: ['msgha', 'pm2-messaging-ha'],
    editable: true, graphTooltip: 1, refresh: '30s', schemaVersion: 39, version: 1,
    time: { from: 'now-6h', to: 'now' }, timepicker: {}, timezone: '',
    annotations: { list: [BUILT_IN, ...(spec.annotations ?? [])] },
    templating: {
      list: [
        { type: 'datasource', name: DS_VAR, label: 'Data source', query: 'prometheus', hide: 0, refresh: 1, regex: '' },
        ...spec.variables,
      ],
    },
    panels: layout(spec.panels),
  };
}

/** Left to right, top to bottom, on the 24-column grid. */
function layout(specs: PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return specs.map((s, i) => {
    const w = s.width ?? 12;
    const h = s.height ?? 8;
    if (x + w > 24) { x = 0; y += rowHeight; rowHeight = 0; }
    const panel = build(s, i + 1, { h, w, x, y });
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return panel;
  });
}

function build(s: PanelSpec, id: number, gridPos: Panel['gridPos']): Panel {
  const targets: Target[] = s.queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i), expr: q.expr, legendFormat: q.legend, datasource: DATASOURCE, range: true, instant: false,
  }));
  const defaults: FieldConfig = { unit: s.unit ?? 'short' };
  if (s.mappings) defaults.mappings = s.mappings;
  let options: Record<string, unknown>;
  if (s.kind === 'state-timeline') {
    // Grafana's enums are types only here (no runtime import): their string values, cast.
    defaults.color = { mode: 'thresholds' as FieldColorModeId.Thresholds };
    defaults.thresholds = { mode: 'absolute' as ThresholdsMode.Absolute, steps: [{ color: 'text', value: null }] };
    options = { mergeValues: true, showValue: 'auto', rowHeight: 0.9, alignValue: 'left', legend: { displayMode: 'list', placement: 'bottom', showLegend: false } };
  } else if (s.kind === 'stat') {
    options = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto' };
  } else {
    defaults.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: s.stacked ? 30 : 10, stacking: { mode: s.stacked ? 'normal' : 'none', group: 'A' } };
    options = { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } };
  }
  return { id, type: s.kind, title: s.title, description: s.description, datasource: DATASOURCE, gridPos, targets, fieldConfig: { defaults, overrides: [] }, options };
}

/** Every PromQL expression of a dashboard: panel targets, annotations and variable queries. */
export function dashboardQueries(d: Dashboard): Array<{ where: string; expr: string; kind: 'query' | 'variable' }> {
  const out: Array<{ where: string; expr: string; kind: 'query' | 'variable' }> = [];
  for (const p of d.panels) for (const t of p.targets) out.push({ where: `${d.uid} / ${p.title} / ${t.refId}`, expr: t.expr, kind: 'query' });
  for (const a of d.annotations.list) if (a.target?.expr) out.push({ where: `${d.uid} / annotation ${a.name}`, expr: a.target.expr, kind: 'query' });
  for (const v of d.templating.list) if (v.type === 'query') out.push({ where: `${d.uid} / variable ${v.name}`, expr: v.query.query, kind: 'variable' });
  return out;
}
