// The local guard file and the agent hooks built on it; the admin command parser.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAdmin } from '../../../plugin/lease/admin';
import { monotonicMs } from '../../../plugin/lease/clock';
import { readGuard, removeGuard, writeGuard } from '../../../plugin/lease/guard';
import { guardHooks } from '../../../plugin/lease/hooks';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-guard-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('guard file and hooks', () => {
  it('round-trips (whole milliseconds)', () => {
    const now = monotonicMs();
    writeGuard(dir, 'mail', { epoch: 7, serveUntilMono: now + 2999 });
    expect(readGuard(dir, 'mail')).toEqual({ epoch: 7, serveUntilMono: Math.floor(now + 2999) });
  });

  it('hooks read the guard under MSGHA_RUN_DIR; without one: epoch 0 and forever', () => {
    process.env.MSGHA_RUN_DIR = dir;
    try {
      expect(guardHooks.epoch('mail')).toBe(7);
      expect(guardHooks.serveUntilMono('mail')).toBe(readGuard(dir, 'mail')!.serveUntilMono);
      expect(guardHooks.epoch('other')).toBe(0);
      expect(guardHooks.serveUntilMono('other')).toBe('forever');
      removeGuard(dir, 'mail');
      expect(guardHooks.epoch('mail')).toBe(0);
      fs.writeFileSync(path.join(dir, 'bad.lease'), 'garbage');
      expect(guardHooks.serveUntilMono('bad')).toBe('forever');
    } finally {
      delete process.env.MSGHA_RUN_DIR;
    }
  });

  // Without the cluster's key (a tool reading for display): the request, never trusted.
  it.each([
    [null, { cmd: 'none' }],
    ['', { cmd: 'none' }],
    ['{"cmd":"freeze","id":"a"}', { cmd: 'freeze', id: 'a', unsigned: true }],
    ['{"cmd":"move","to":"mx2"}', { cmd: 'move', to: 'mx2', id: undefined, unsigned: true }],
    ['{"cmd":"move"}', { cmd: 'invalid', unsigned: true }],
    ['{not json', { cmd: 'invalid', unsigned: true }],
  ])('parseAdmin(%j) without a key', (text, want) => {
    expect(parseAdmin(text)).toEqual(want);
  });
});
