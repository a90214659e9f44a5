/**
 * Line logger. Every line names the resource and the function (online, monitor, …), so
 * `pm2 logs mail:imap` reads on its own. Secrets never reach here: callers log attribute names,
 * never values.
 */

export type LogLevel = 'ERROR' | 'WARN' | 'INFO' | 'TRACE';

const RANK: Record<LogLevel, number> = { ERROR: 0, WARN: 1, INFO: 2, TRACE: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  trace(message: string): void;
  /** A logger for the same resource and another function, e.g. log.child('online'). */
  child(fn: string): Logger;
  level: LogLevel;
}

export type LogSink = (line: string, level: LogLevel) => void;

const defaultSink: LogSink = (line, level) => {
  if (level === 'ERROR' || level === 'WARN') process.stderr.write(line + '\n');
  else process.stdout.write(line + '\n');
};

export function createLogger(subject: string, fn: string, level: LogLevel = 'INFO', sink: LogSink = defaultSink): Logger {
  const emit = (at: LogLevel, message: string): void => {
    if (RANK[at] > RANK[level]) return;
    sink(`${new Date().toISOString()} ${at.padEnd(5)} ${subject} ${fn}: ${message}`, at);
  };
  return {
    level,
    error: (m) => emit('ERROR', m),
    warn: (m) => emit('WARN', m),
    info: (m) => emit('INFO', m),
    trace: (m) => emit('TRACE', m),
    child: (childFn) => createLogger(subject, childFn, level, sink),
  };
}
