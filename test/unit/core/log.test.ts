import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../../plugin/core/log';

describe('logger', () => {
  it('names the resource and the function on every line and honours the level', () => {
    const lines: string[] = [];
    const log = createLogger('mail.imap', 'monitor', 'INFO', (line: string, _level: LogLevel) => lines.push(line));
    log.info('all processes present');
    log.trace('not shown at INFO');
    log.child('online').warn('slow start');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ INFO  mail\.imap monitor: all processes present$/);
    expect(lines[1]).toMatch(/ WARN  mail\.imap online: slow start$/);
  });
});
