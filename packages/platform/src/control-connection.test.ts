import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { ControlConnection } from './control-connection.ts';
import { createLogger } from './logger.ts';

const log = createLogger('control-connection-test', { level: 'silent' });
const POLL = { timeout: 10_000, interval: 50 };

interface Replica {
  control: ControlConnection;
  name: string;
  events: string[];
  notifications: [string, string][];
}

describe('ControlConnection', () => {
  const db = useTestDatabase();
  const running: ControlConnection[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((control) => control.stop()));
  });

  const replica = (name: string, lock: bigint | string = 'control-test'): Replica => {
    const events: string[] = [];
    const notifications: [string, string][] = [];
    const control = new ControlConnection({
      url: db.url,
      applicationName: name,
      lock,
      channels: ['control_a', 'control_b'],
      retryMs: 100,
      log,
      onConnected: () => events.push('connected'),
      onElected: () => events.push('elected'),
      onDeposed: () => events.push('deposed'),
      onNotification: (channel, payload) => notifications.push([channel, payload]),
    });
    running.push(control);
    return { control, name, events, notifications };
  };
  const terminate = (name: string) =>
    db.pool.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [name],
    );
  const leaders = (replicas: Replica[]) => replicas.filter((r) => r.control.leader).map((r) => r.name);

  it('elects exactly one leader among replicas, by lock name or by bigint key', async () => {
    for (const lock of ['control-test', 0x7465_7374n]) {
      const replicas = [replica(`named-a-${lock}`, lock), replica(`named-b-${lock}`, lock)];
      await Promise.all(replicas.map((r) => r.control.start()));
      await expect.poll(() => leaders(replicas).length, POLL).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(leaders(replicas)).toHaveLength(1);
      for (const r of replicas) expect(r.events[0]).toBe('connected');
      await Promise.all(running.splice(0).map((control) => control.stop()));
    }
  });

  it('hands leadership over when the leader stops', async () => {
    const replicas = [replica('stop-a'), replica('stop-b')];
    await Promise.all(replicas.map((r) => r.control.start()));
    await expect.poll(() => leaders(replicas).length, POLL).toBe(1);
    const leader = replicas.find((r) => r.control.leader)!;
    const follower = replicas.find((r) => r !== leader)!;

    await leader.control.stop();
    expect(leader.events.at(-1)).toBe('deposed');
    await expect.poll(() => follower.control.leader, POLL).toBe(true);
  });

  it('moves leadership when the leader loses its connection, and the old leader reconnects as follower', async () => {
    const replicas = [replica('kill-a'), replica('kill-b')];
    await Promise.all(replicas.map((r) => r.control.start()));
    await expect.poll(() => leaders(replicas).length, POLL).toBe(1);
    const leader = replicas.find((r) => r.control.leader)!;
    const follower = replicas.find((r) => r !== leader)!;

    await terminate(leader.name);
    await expect.poll(() => follower.control.leader, POLL).toBe(true);
    expect(leader.control.leader).toBe(false);
    expect(leader.events.slice(0, 3)).toEqual(['connected', 'elected', 'deposed']);
    await expect.poll(() => leader.events.filter((e) => e === 'connected').length, POLL).toBe(2);
    expect(leader.control.leader).toBe(false);
  });

  it('delivers notifications on every channel to leader and follower, again after a reconnection', async () => {
    const replicas = [replica('listen-a'), replica('listen-b')];
    await Promise.all(replicas.map((r) => r.control.start()));
    await db.pool.query("SELECT pg_notify('control_a', 'one'), pg_notify('control_b', 'two')");
    for (const r of replicas) {
      await expect
        .poll(() => r.notifications, POLL)
        .toEqual([
          ['control_a', 'one'],
          ['control_b', 'two'],
        ]);
    }

    const [first] = replicas;
    await terminate(first!.name);
    await expect.poll(() => first!.events.filter((e) => e === 'connected').length, POLL).toBe(2);
    await db.pool.query("SELECT pg_notify('control_a', 'three')");
    await expect.poll(() => first!.notifications.at(-1), POLL).toEqual(['control_a', 'three']);
  });

  it('starts without the database, as a follower that keeps trying', async () => {
    const unreachable = new URL(db.url);
    unreachable.port = '1';
    const control = new ControlConnection({
      url: unreachable.toString(),
      applicationName: 'unreachable',
      lock: 'control-test',
      channels: [],
      retryMs: 50,
      log,
    });
    running.push(control);
    await expect(control.start()).resolves.toBeUndefined();
    expect(control.leader).toBe(false);
  });
});
