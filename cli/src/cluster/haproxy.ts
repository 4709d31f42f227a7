import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.ts';

export interface HttpBackend {
  name: string;
  /** Where HAProxy listens for it. */
  port: number;
  servers: number[];
  /**
   * Read-only services are safe to replay on another replica: a request whose replica died under
   * it (empty response) or answered 503 (its database moving) is sent again, up to 3 times.
   */
  replaySafe: boolean;
}

export interface PostgresBackend {
  port: number;
  members: { pgPort: number; restPort: number }[];
}

/**
 * HAProxy in front of everything: each service's replicas, health-checked through
 * /health/ready (with a fallback to any live replica when none is ready), and PostgreSQL, routed to whichever Patroni member answers 200 on /primary.
 * When the primary moves, sessions to the old one are cut at once (on-marked-down), so pools
 * notice within a second instead of waiting on a dead TCP connection.
 */
export function haproxyConfig(http: HttpBackend[], postgres: PostgresBackend): string {
  const lines = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  timeout connect 1s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 2s',
    '',
    'listen postgres',
    `  bind 127.0.0.1:${postgres.port}`,
    '  mode tcp',
    '  option httpchk GET /primary',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...postgres.members.map((m, i) => `  server pg${i} 127.0.0.1:${m.pgPort} check port ${m.restPort}`),
  ];
  for (const b of http) {
    lines.push(
      '',
      `listen ${b.name}`,
      `  bind 127.0.0.1:${b.port}`,
      '  mode http',
      '  timeout client 60s',
      '  timeout server 60s',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      '  retries 3',
      '  option redispatch 1',
      `  retry-on ${b.replaySafe ? 'conn-failure empty-response 502 503 504' : 'conn-failure'}`,
      '  default-server inter 1s fastinter 250ms fall 2 rise 2',
      ...b.servers.map((port, i) => `  server ${b.name}${i} 127.0.0.1:${port} check`),
      // The same replicas again, unchecked, used only when none is ready: a database outage makes
      // every replica unready at once, and a replica that waits for the database (or answers from
      // its cache) serves better than HAProxy's own 503. A dead one fails the connection and the
      // request goes to the next.
      ...b.servers.map((port, i) => `  server ${b.name}${i}-unready 127.0.0.1:${port} backup`),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function startHaproxy(dir: string, config: string): ManagedProcess {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const haproxy = new ManagedProcess({ name: 'haproxy', command: 'haproxy', args: ['-db', '-f', file] });
  haproxy.start();
  return haproxy;
}
