/**
 * The start and stop order of one group. Online follows `requires`: a resource starts once
 * everything it requires is ONLINE, so independent resources start in parallel; offline is the
 * mirror image (a resource stops once everything that needs it is down). Shared disk and address
 * first: a Mount or IP resource that requires nothing comes online before every other resource
 * (and goes offline after them), whatever its place in the file.
 */
import type { ResolvedResource } from '../model/cluster-types';
import type { Decision } from '../recovery/policy';
import type { GroupBook } from './group-book';
import type { Outcome, Runtime } from './group-types';

/** A Mount or IP resource that requires nothing: it comes before every other resource. */
const isEarly = (r: ResolvedResource): boolean => (r.type === 'Mount' || r.type === 'IP') && r.requires.length === 0;

/** Mount, then IP, before everything else — when they require nothing (so no requires is broken). */
export function onlineOrder(resources: ResolvedResource[]): ResolvedResource[] {
  const early = (type: string) => resources.filter((r) => r.type === type && isEarly(r));
  const first = [...early('Mount'), ...early('IP')];
  return [...first, ...resources.filter((r) => !first.includes(r))];
}

/**
 * What must be ONLINE before a resource starts: its `requires`, and for everything but the
 * Mount and IP resources that require nothing, those (the disk and the address come first).
 */
function prerequisites(book: GroupBook, r: Runtime): Runtime[] {
  const named = r.res.requires.map((n) => book.byName(n)).filter((x): x is Runtime => !!x);
  if (isEarly(r.res)) return named;
  return [...named, ...book.all().filter((x) => isEarly(x.res))];
}

/** The result of one resource's first online; on failure, what the recovery policy decided. */
export type Started = Outcome & { failed?: Extract<Decision, { do: 'fail-over' | 'operator' }> };

/**
 * Start every resource not ONLINE yet, each once its prerequisites are ONLINE (independent ones
 * in parallel). Stops starting at the first resource whose failure fails the group over, or
 * once `signal` is aborted; returns that resource and why.
 */
export async function startInOrder(
  book: GroupBook, startOne: (r: Runtime, signal?: AbortSignal) => Promise<Started>, signal?: AbortSignal,
): Promise<{ r: Runtime; reason: string } | undefined> {
  let broken: { r: Runtime; reason: string } | undefined;
  const runs = new Map<Runtime, Promise<void>>();
  const start = (r: Runtime): Promise<void> => {
    let run = runs.get(r);
    if (!run) {
      run = (async () => {
        await Promise.all(prerequisites(book, r).map(start));
        if (r.state === 'ONLINE' || broken || signal?.aborted) return;
        const missing = r.res.requires.filter((n) => book.byName(n)?.state !== 'ONLINE');
        if (missing.length > 0) {
          book.setRes(r, 'OFFLINE', `not started: requires ${missing.join(', ')}, which is not ONLINE`);
          return;
        }
        const started = await startOne(r, signal);
        if (started.failed?.do === 'fail-over' && !broken) broken = { r, reason: started.reason };
      })();
      runs.set(r, run);
    }
    return run;
  };
  await Promise.all(book.all().map(start));
  return broken;
}

/**
 * Offline every resource, each once everything that needs it is down (independent ones in
 * parallel; clean when offline fails); names of failures. `keep`: its state is left as it is
 * (the culprit of a group fault stays FAULTED). `beforeStop` is awaited before each stop.
 */
export async function stopInOrder(book: GroupBook, keep: Runtime | undefined, beforeStop?: (res: ResolvedResource) => Promise<void>): Promise<string[]> {
  const failed: string[] = [];
  const all = book.all();
  const runs = new Map<Runtime, Promise<void>>();
  const stop = (r: Runtime): Promise<void> => {
    let run = runs.get(r);
    if (!run) {
      run = (async () => {
        await Promise.all(all.filter((d) => d !== r && prerequisites(book, d).includes(r)).map(stop));
        if (r.state === 'STOPPED') return; // PM2 already ran its offline
        if (r !== keep) book.setRes(r, 'STOPPING', 'offline');
        await beforeStop?.(r.res);
        let rep = await book.ask(r, { cmd: 'offline' });
        if (!rep.ok) {
          book.log.warn(`${r.res.id}: offline failed (${rep.reason}); cleaning`);
          rep = await book.ask(r, { cmd: 'clean' });
        }
        if (!rep.ok) failed.push(r.res.name);
        if (r !== keep) book.setRes(r, rep.ok ? 'OFFLINE' : 'UNKNOWN', rep.ok ? 'offline' : `stop failed: ${rep.reason}`);
      })();
      runs.set(r, run);
    }
    return run;
  };
  await Promise.all(all.map(stop));
  return failed;
}
