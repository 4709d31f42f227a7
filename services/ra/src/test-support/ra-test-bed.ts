import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Device, openDevice } from '@sm2ca/device';
import { addOperator, createLogger, type HttpServer, loadConfig, type Role } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { hsmSim, tokenConfig } from '../../../../packages/device/src/test-tokens.ts';
import { OpensslHierarchy } from '../../../../test/support/openssl-ca.ts';
import { useTestDatabase } from '../../../../test/support/test-database.ts';
import { buildRaApp } from '../app.ts';
import { createCaClient } from '../ca-client.ts';
import { deviceCsrVerifier } from '../holder-csr.ts';
import { IssueRetrier } from '../issue-retrier.ts';
import type { LoginSettings } from '../login-settings.ts';
import { StandInCa } from './stand-in-ca.ts';
import { StandInKm } from './stand-in-km.ts';

/** Two operators of the roles that take turns, so role separation can be shown both ways. */
const staff = {
  clerk: 'entry_clerk',
  clerk2: 'entry_clerk',
  reviewer: 'reviewer',
  reviewer2: 'reviewer',
  maker: 'certificate_maker',
  auditor: 'auditor',
  admin: 'business_admin',
  keyAdmin: 'key_administrator',
  keyAdmin2: 'key_administrator',
  keyAdmin3: 'key_administrator',
  officer: 'judicial_officer',
  officer2: 'judicial_officer',
  superAdmin: 'super_admin',
  superAdmin2: 'super_admin',
  auditAdmin: 'audit_admin',
} as const satisfies Record<string, Role>;
export type StaffMember = keyof typeof staff;

export const issuingCaId = 'test-issuing-ca';

export interface RaTestBed {
  app: HttpServer;
  pool: Pool;
  ca: StandInCa;
  /** What the RA's recovery routes ask for escrowed keys. */
  km: StandInKm;
  /** The stand-in CA's port, to bring it back on after closing it. */
  caPort: number;
  hierarchy: OpensslHierarchy;
  /** The RA's SM2CA_HOME. */
  home: string;
  /** An issuance retrier as another RA replica runs it, driven by its runOnce() alone. */
  retrier(): IssueRetrier;
  /** Operator ids by staff member. */
  ids: Record<StaffMember, string>;
  /** Injects a request as `who`, or as nobody; a string body is sent as text/csv. */
  call(
    who: StaffMember | undefined,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: object | string,
  ): Promise<LightMyRequestResponse>;
}

/**
 * The RA as its process builds it, on the file's own database and a real
 * hsm-sim token holding the RA key, talking to a stand-in CA over HTTP.
 */
export function useRaTestBed(
  options: {
    allowHolderEncryptionKeys?: boolean;
    login?: Partial<LoginSettings>;
    /** More settings, as the environment gives them. */
    env?: NodeJS.ProcessEnv;
  } = {},
): RaTestBed {
  const db = useTestDatabase();
  const bed = {} as RaTestBed;
  let device: Device | undefined;
  let home = '';

  beforeAll(async () => {
    await hsmSim.createTokens(['ra'], '87654321', '12345678');
    device = await openDevice(tokenConfig(hsmSim, 'ra', '12345678'));
    const raSpki = await device.generateKeyPair({ label: 'ra-signing', token: false });
    const hierarchy = new OpensslHierarchy();
    // The RA row's certificate column holds the RA public key: the stand-in CA only needs the key.
    await db.pool.query(
      `INSERT INTO issuers (id, kind, parent_id, key_label, subject, certificate, subject_key_id, not_after) VALUES
         ('test-root', 'root', NULL, 'root', 'CN=Test Root', $1, '\\x01', now() + interval '30 days'),
         ($4, 'subordinate', 'test-root', 'issuing', 'CN=Test Issuing CA', $2, '\\x02', now() + interval '30 days'),
         ('test-ra', 'ra', 'test-root', 'ra-signing', 'CN=Test RA', $3, '\\x03', now() + interval '30 days')`,
      [hierarchy.root, hierarchy.issuing, Buffer.from(raSpki), issuingCaId],
    );
    const ca = new StandInCa(db.pool, device, raSpki, hierarchy, issuingCaId);
    const caPort = await ca.listen();
    const cli = { name: 'cli', role: 'key_ceremony' };
    const ids = {} as Record<StaffMember, string>;
    const credentials = {} as Record<StaffMember, string>;
    for (const [who, role] of Object.entries(staff) as Array<[StaffMember, Role]>) {
      const added = await addOperator(db.pool, cli, {
        name: `op-${who}`,
        identity: `staff-${who}`,
        roles: [role],
      });
      ids[who] = added.operator.id;
      credentials[who] = added.credential;
    }
    home = mkdtempSync(join(tmpdir(), 'ra-test-home-'));
    // The app's own retrier waits an hour between runs: tests drive retriers by hand.
    const config = loadConfig({
      SM2CA_HOME: home,
      SM2CA_CA_PORT: String(caPort),
      SM2CA_ISSUE_RETRY_SECONDS: '3600',
      SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS: String(options.allowHolderEncryptionKeys ?? false),
      LOG_LEVEL: 'silent',
      ...options.env,
    });
    const log = createLogger('ra', { level: 'silent' });
    const km = new StandInKm(db.pool);
    const app = await buildRaApp(
      { config, log, db: { pool: db.pool, url: db.url, close: async () => {} }, device },
      { km, ...(options.login ? { login: options.login } : {}) },
    );
    await app.ready();
    Object.assign(bed, {
      app,
      pool: db.pool,
      ca,
      km,
      caPort,
      hierarchy,
      home,
      retrier: () => {
        const client = createCaClient({
          baseUrl: `http://127.0.0.1:${caPort}`,
          signer: device!.signer('ra-signing'),
        });
        return new IssueRetrier(
          {
            pool: db.pool,
            ca: client,
            downloadCodeDays: 7,
            allowHolderEncryptionKeys: config.ca.allowHolderEncryptionKeys,
            csrVerifier: deviceCsrVerifier(device!),
          },
          log,
          3_600_000,
        );
      },
      ids,
      call: (who, method, url, body) =>
        app.inject({
          method,
          url,
          ...(body ? { payload: body } : {}),
          headers: {
            ...(who ? { authorization: `Bearer ${credentials[who]}` } : {}),
            ...(typeof body === 'string' ? { 'content-type': 'text/csv' } : {}),
          },
        }),
    } satisfies RaTestBed);
  });

  afterAll(async () => {
    await bed.app?.close();
    await bed.ca?.close();
    await device?.close();
    bed.hierarchy?.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  return bed;
}
