/**
 * Second-level monitoring shared by the agents: a plan of probes (registry name, port, options)
 * run in parallel under one deadline that ends inside the monitor's budget, then folded into
 * one level result with the resource's probe policy.
 *
 * Guarantees: every probe of a resource starts at once, so one hung service cannot hide
 * another; no probe deadline outlives the monitor's budget (what is left of MonitorTimeout when
 * the deep level starts); a secret is decrypted only here, at the moment of use, and a secret
 * that cannot be decrypted is reported as a configuration problem, never thrown and never shown.
 */
import { deadlineIn } from '../core/deadline';
import { boolAttr, textAttr } from '../model/attributes';
import { getProbe, type ProbePolicy, type ProtocolOptions } from '../../probes/registry';
import { foldProbes, type LevelResult, type NamedProbe } from './monitor-levels';
import type { AgentContext } from './contract';

export interface PlannedProbe {
  /** What the report calls it, e.g. 'imap:143'. */
  check: string;
  /** Registry name (probes/registry.ts), e.g. 'imap', 'mmp-pops', 'tls'. */
  probe: string;
  host: string;
  port: number;
  /** Options besides the deadline (user, password, recipient, servername, …). */
  options?: Omit<ProtocolOptions, 'timeoutMs'>;
}

/** Kept back from the budget so that folding and reporting still fit in MonitorTimeout. */
const FOLD_MARGIN_MS = 50;

/** The deadline a probe gets: what is left of the budget, capped (e.g. by ProbeTimeout). */
export function probeDeadlineMs(remainingMs: number, capMs = Number.POSITIVE_INFINITY): number {
  return Math.max(1, Math.min(capMs, remainingMs - FOLD_MARGIN_MS));
}

export interface RunPlanOptions {
  /** Milliseconds the deep level may take (the rest of MonitorTimeout). */
  budgetMs: number;
  signal: AbortSignal;
  policy?: ProbePolicy;
  /** Upper bound of one probe's deadline (NetscapeMsg's ProbeTimeout). */
  capMs?: number;
  /** The resource's attributes: ProbeCAFile and ProbeSSLVerify apply to every probe of the plan. */
  attrs?: Readonly<Record<string, unknown>>;
}

/** The TLS trust of a resource's deep checks (ProbeCAFile, ProbeSSLVerify). */
export function probeTrust(attrs: Readonly<Record<string, unknown>> | undefined): Pick<ProtocolOptions, 'caFile' | 'verifyCertificate'> {
  if (!attrs) return {};
  const caFile = textAttr(attrs, 'ProbeCAFile');
  return { ...(caFile ? { caFile } : {}), ...(boolAttr(attrs, 'ProbeSSLVerify') ? {} : { verifyCertificate: false }) };
}

/** Runs every planned probe in parallel and folds the results. */
export async function runProbePlan(plan: PlannedProbe[], opts: RunPlanOptions): Promise<LevelResult> {
  const timeoutMs = probeDeadlineMs(opts.budgetMs, opts.capMs);
  // Services with no deep check (snmp, ens) have no probe and are left out.
  const runnable = plan.flatMap((p) => {
    const probe = getProbe(p.probe);
    return probe ? [{ ...p, run: probe }] : [];
  });
  const results = await Promise.all(runnable.map(async (p): Promise<NamedProbe> => {
    const probe = p.run;
    const result = await probe({ host: p.host, port: p.port }, { ...probeTrust(opts.attrs), ...p.options, timeoutMs }, opts.signal);
    return { check: p.check, result };
  }));
  return foldProbes(results, opts.policy);
}

export type SecretRead = { ok: true; value: string | undefined } | { ok: false; problem: LevelResult };

/**
 * Decrypts a secret attribute now, at the moment of use. A key file that is missing or a value
 * that does not decrypt is the configuration's fault: OFFLINE, recovery 'configuration' (see
 * foldProbes for why OFFLINE rather than UNKNOWN).
 */
export async function readSecret(ctx: AgentContext, attribute: string): Promise<SecretRead> {
  try {
    return { ok: true, value: await ctx.secret(attribute) };
  } catch (err) {
    // SecretError messages name the key file and the cause, never the secret.
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: { state: 'OFFLINE', recovery: 'configuration', reason: `cannot decrypt ${attribute} for the deep check: ${why}` } };
  }
}

/** The account a deep check logs in with; `password` is undefined when its attribute is unset. */
export interface TestAccount { user: string; password: string | undefined }

/**
 * Runs a deep check with the test account — `user` (the type's test user attribute) and the
 * secret `passwordAttr` decrypted now — or without one when `user` is unset. A secret that
 * cannot be decrypted is the result (a configuration problem) and the check does not run.
 */
export async function withTestAccount(ctx: AgentContext, user: string | undefined, passwordAttr: string,
  check: (account: TestAccount | undefined) => Promise<LevelResult>): Promise<LevelResult> {
  if (user === undefined) return check(undefined);
  const secret = await readSecret(ctx, passwordAttr);
  return secret.ok ? check({ user, password: secret.value }) : secret.problem;
}

/** Starts the deep level's own clock: the budget left after slow steps (decryption). */
export function budgetClock(budgetMs: number): () => number {
  const d = deadlineIn(budgetMs);
  return () => d.remaining();
}
