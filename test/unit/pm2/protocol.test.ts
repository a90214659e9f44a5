/** The agent accepts exactly the commands of the protocol, each whole; anything else is ignored. */
import { describe, expect, it } from 'vitest';
import { parseCommand, TOPIC } from '../../../plugin/pm2/protocol';

const packet = (data: unknown, topic = TOPIC): unknown => ({ type: 'process:msg', topic, data });

describe('parseCommand', () => {
  it.each([
    [{ cmd: 'online', reqId: 1 }, { cmd: 'online', reqId: 1 }],
    [{ cmd: 'monitor', reqId: 2, deep: true }, { cmd: 'monitor', reqId: 2, deep: true }],
    [{ cmd: 'target', reqId: 3, target: 'offline' }, { cmd: 'target', reqId: 3, target: 'offline' }],
    [{ cmd: 'state', reqId: 4 }, { cmd: 'state', reqId: 4 }],
    [{ cmd: 'exited', reqId: 5, pid: 4242 }, { cmd: 'exited', reqId: 5, pid: 4242 }],
  ])('accepts %j', (data, want) => {
    expect(parseCommand(packet(data))).toEqual(want);
  });

  it.each([
    [packet({ cmd: 'online' })],
    [packet({ cmd: 'exited', reqId: 1 })],
    [packet({ cmd: 'exited', reqId: 1, pid: '12' })],
    [packet({ cmd: 'target', reqId: 1, target: 'elsewhere' })],
    [packet({ cmd: 'rm -rf', reqId: 1 })],
    [packet({ cmd: 'online', reqId: 1 }, 'other')],
    ['online'],
    [null],
  ])('ignores %j', (p) => {
    expect(parseCommand(p)).toBeUndefined();
  });
});
