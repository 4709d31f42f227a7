import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with the service name', () => {
    const { lines, destination } = capture();
    createLogger('ra', { destination }).info({ serial: '01' }, 'issued');
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({ name: 'ra', msg: 'issued', serial: '01', level: 30 });
  });

  it('censors PINs, passwords and credentials wherever they appear', () => {
    const { lines, destination } = capture();
    const log = createLogger('ca', { destination });
    log.info({ pin: '11223344', device: { pin: '55667788', soPin: '99887766' } }, 'login');
    log.info({ config: { databaseUrl: 'postgres://u:hunter2@h/db' }, password: 'pw-secret' }, 'start');
    log.info({ req: { headers: { authorization: 'Bearer abcdef' } } }, 'request');
    const text = lines.join('');
    for (const secret of ['11223344', '55667788', '99887766', 'hunter2', 'pw-secret', 'abcdef']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
  });
});
