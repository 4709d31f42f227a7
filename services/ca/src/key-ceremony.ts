import type { Device } from '@sm2ca/device';
import { decodeSm2Spki } from '@sm2ca/gm';
import {
  type DnAttribute,
  issueCertificate,
  keyIdentifier,
  type ParsedCertificate,
  type ProfileId,
  parseCertificate,
} from '@sm2ca/pki';
import { type Actor, AppError, type Config, issuerUrls, recordAudit } from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import { publishIssuerCreated, publishStatus } from './certificate-events.ts';
import { type Issuer, type IssuerKind, loadIssuers, requireUsableIssuer, storedSerial } from './issuers.ts';
import { adoptionRefusal } from './key-adoption.ts';

interface CeremonyStep {
  id: string;
  kind: IssuerKind;
  parentId: string | null;
  profile: ProfileId;
  keyLabel: string;
  commonName: string;
  days: number;
}

const DAY_MS = 86_400_000;
const ceremonyActor = { name: 'cli', role: 'key_ceremony' };
/** Two years for the RA's and the KM's own certificates (capped, like every other, at its issuer's notAfter). */
const SERVICE_KEY_DAYS = 730;
/** A year, within the ocsp-signer profile's 398 days; renewed a month ahead so relying parties never see a gap. */
const OCSP_SIGNER_DAYS = 365;
const OCSP_SIGNER_RENEW_DAYS = 30;

/**
 * The hierarchy `init` creates: root → issuing CA → the certificates of the services' own signing
 * keys: the RA's (instructions to the CA, recovery requests to the KM), the KM's (its answers) and
 * the CA's KM client key (key applications and revocations to the KM), and the audit key's
 * (checkpoints of the audit chain).
 */
export function ceremonySteps(config: Config): CeremonyStep[] {
  const name = config.ca.name;
  return [
    {
      id: 'root',
      kind: 'root',
      parentId: null,
      profile: 'root-ca',
      keyLabel: 'root-ca',
      commonName: `${name} Root CA`,
      days: config.ca.rootDays,
    },
    {
      id: 'sub',
      kind: 'subordinate',
      parentId: 'root',
      profile: 'sub-ca',
      keyLabel: 'sub-ca',
      commonName: `${name} Issuing CA`,
      days: config.ca.issuingDays,
    },
    {
      id: 'ra',
      kind: 'ra',
      parentId: 'sub',
      profile: 'device-sign',
      keyLabel: 'ra',
      commonName: `${name} RA`,
      days: SERVICE_KEY_DAYS,
    },
    {
      id: 'km',
      kind: 'km',
      parentId: 'sub',
      profile: 'device-sign',
      keyLabel: 'km',
      commonName: `${name} KM`,
      days: SERVICE_KEY_DAYS,
    },
    {
      id: 'ca-km',
      kind: 'ca-km',
      parentId: 'sub',
      profile: 'device-sign',
      keyLabel: 'ca-km',
      commonName: `${name} CA KM client`,
      days: SERVICE_KEY_DAYS,
    },
    // Signs the audit chain's checkpoints (platform audit-trail), nothing else.
    {
      id: 'audit',
      kind: 'audit',
      parentId: 'sub',
      profile: 'device-sign',
      keyLabel: 'audit',
      commonName: `${name} Audit`,
      days: SERVICE_KEY_DAYS,
    },
  ];
}

/**
 * A key left by an interrupted ceremony is used, not replaced: its label is already reserved for it. It is
 * used only when it is what the ceremony would have made; any other is refused, on record.
 */
async function keyFor(
  transact: Transact,
  device: Device,
  step: IssuerToCreate,
  actor: Actor,
): Promise<Uint8Array> {
  const label = step.keyLabel;
  const found = await device.inspectKeyPair(label);
  // A CA key can be backed up under split custody (`sm2ca key backup`): it leaves the device only
  // wrapped under a key the security officer made trusted, never under the user PIN alone.
  const backup = step.kind === 'root' || step.kind === 'subordinate';
  if (found.privateKeys === 0 && found.publicKeys === 0) {
    return device.generateKeyPair({ label, token: true, extractable: false, decrypt: false, backup });
  }
  const reasons = await adoptionRefusal(device, label, found, { backup });
  if (reasons.length === 0) return device.publicKey(label);
  await transact((client) =>
    recordAudit(client, actor, {
      action: 'issuer.key.refused',
      subjectType: 'issuer',
      subjectId: step.id,
      after: { keyLabel: label, reasons },
    }),
  );
  throw new AppError(
    'CEREMONY_KEY_REFUSED',
    `the device already holds a key labelled "${label}" that the ceremony will not adopt for the ${step.commonName}: ${reasons.join('; ')}. A service key is generated in the device, sensitive, never extractable and sign-only; find out how this one got there, then remove it with the device's own tools`,
    409,
    { keyLabel: label, reasons },
  );
}

export interface IssuerToCreate {
  id: string;
  kind: IssuerKind;
  parentId: string | null;
  profile: ProfileId;
  keyLabel: string;
  commonName: string;
  days: number;
}

/**
 * Creates whatever part of the CA hierarchy is missing — keys inside the
 * device (non-extractable, sign-only), certificates signed there and checked under the GM
 * default ID, all recorded in the database — and a delegated OCSP signer per CA
 * whose newest one is missing or expires within a month. A second run changes nothing.
 */
export async function runKeyCeremony(
  pool: Pool,
  device: Device,
  config: Config,
  progress: (message: string) => void = () => {},
): Promise<{ created: string[] }> {
  const issuers = await loadIssuers(pool);
  const created: string[] = [];
  for (const step of ceremonySteps(config)) {
    if (issuers.has(step.id)) continue;
    const issuer = await createIssuer(
      (work) => withTransaction(pool, work),
      device,
      config,
      issuers,
      step,
      ceremonyActor,
      progress,
    );
    issuers.set(issuer.id, issuer);
    created.push(issuer.id);
  }
  const renewed = await renewOcspSigners(pool, device, config, { actor: ceremonyActor, progress });
  return { created: [...created, ...renewed.created] };
}

/** One state change in one transaction: the pool's own, or one on a connection already held. */
export type Transact = <T>(work: (client: PoolClient) => Promise<T>) => Promise<T>;

/** On the connection holding the renewal lock: with a pool of one, a second connection would never come. */
async function transactOn<T>(client: PoolClient, work: (client: PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** Held while signers are counted and made, so two runs at once (init and the CA's job, two CA replicas) make one. */
const SIGNER_RENEWAL_LOCK = 'sm2ca:ocsp-signer-renewal';

/**
 * The OCSP-signer part of the ceremony, which the CA also runs on its own: a fresh
 * delegated signer for each CA still able to sign whose newest usable one is missing,
 * revoked, suspended or expires within a month. A second run, or one waiting on another, changes nothing.
 */
export async function renewOcspSigners(
  pool: Pool,
  device: Device,
  config: Config,
  options: { actor: Actor; progress?: (message: string) => void },
): Promise<{ created: string[] }> {
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [SIGNER_RENEWAL_LOCK]);
    const issuers = await loadIssuers(lock);
    const created: string[] = [];
    const cas = [...issuers.values()].filter((i) => i.kind === 'root' || i.kind === 'subordinate');
    const retired = await retiredSigners(lock, [...issuers.values()]);
    for (const ca of cas) {
      const spec = ocspSignerDue(ca, [...issuers.values()], retired, config);
      if (!spec || !(await signsNow(lock, issuers, ca.id))) continue;
      const issuer = await createIssuer(
        (work) => transactOn(lock, work),
        device,
        config,
        issuers,
        spec,
        options.actor,
        options.progress,
      );
      issuers.set(issuer.id, issuer);
      created.push(issuer.id);
    }
    return { created };
  } finally {
    // Released with the connection too, should the unlock fail.
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [SIGNER_RENEWAL_LOCK]).then(
      () => lock.release(),
      (err: Error) => lock.release(err),
    );
  }
}

/** A CA revoked, suspended or expired (or under one that is) gets no new signer: it signs nothing more. */
async function signsNow(client: PoolClient, issuers: Map<string, Issuer>, caId: string): Promise<boolean> {
  try {
    await requireUsableIssuer(client, issuers, caId);
    return true;
  } catch (err) {
    if (err instanceof AppError && err.code === 'ISSUER_NOT_USABLE') return false;
    throw err;
  }
}

/** OCSP signers whose certificate is revoked or suspended: the responder no longer signs with them. */
async function retiredSigners(client: PoolClient, issuers: Issuer[]): Promise<Set<string>> {
  const signers = issuers.filter((i) => i.kind === 'ocsp');
  const { rows } = await client.query(
    `SELECT issuer_id, serial FROM certificates
      WHERE status <> 'good' AND (issuer_id, serial) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [signers.map((s) => s.parentId), signers.map((s) => storedSerial(s.certificate))],
  );
  return new Set(
    signers
      .filter((s) => rows.some((r) => r.issuer_id === s.parentId && r.serial === storedSerial(s.certificate)))
      .map((s) => s.id),
  );
}

/**
 * The next delegated OCSP signer of `ca`, or nothing while its newest usable one has more
 * than a month left; a revoked or suspended signer counts for nothing, so its replacement
 * comes at once. Old signers stay on record: their responses remain valid until they lapse.
 */
function ocspSignerDue(
  ca: Issuer,
  all: Issuer[],
  retired: Set<string>,
  config: Config,
): IssuerToCreate | undefined {
  const signers = all.filter((i) => i.kind === 'ocsp' && i.parentId === ca.id);
  const usable = signers.filter((s) => !retired.has(s.id));
  const newest = Math.max(0, ...usable.map((s) => s.certificate.notAfter.getTime()));
  if (newest - Date.now() > OCSP_SIGNER_RENEW_DAYS * DAY_MS) return undefined;
  // A new signer could not outlive its CA either: one per run would pile up until the CA expires.
  if (newest >= ca.certificate.notAfter.getTime()) return undefined;
  let n = signers.length + 1;
  while (all.some((i) => i.id === `ocsp-${ca.id}-${n}`)) n++;
  const caName = ca.kind === 'root' ? 'Root CA' : 'Issuing CA';
  return {
    id: `ocsp-${ca.id}-${n}`,
    kind: 'ocsp',
    parentId: ca.id,
    profile: 'ocsp-signer',
    keyLabel: `ocsp-${ca.id}-${n}`,
    commonName: `${config.ca.name} ${caName} OCSP Signer ${n}`,
    days: OCSP_SIGNER_DAYS,
  };
}

export async function createIssuer(
  transact: Transact,
  device: Device,
  config: Config,
  issuers: Map<string, Issuer>,
  step: IssuerToCreate,
  actor: Actor,
  progress: (message: string) => void = () => {},
): Promise<Issuer> {
  progress(`generating the ${step.commonName} key in the device (label "${step.keyLabel}")`);
  const publicKey = await keyFor(transact, device, step, actor);
  const parent = step.parentId ? issuers.get(step.parentId) : undefined;
  const issuerCertificate: ParsedCertificate | undefined = parent?.certificate;
  const notBefore = new Date();
  const subject: DnAttribute[] = [
    { type: 'C', value: 'CN' },
    { type: 'O', value: config.ca.organization },
    { type: 'CN', value: step.commonName },
  ];
  const der = await issueCertificate(
    {
      profile: step.profile,
      subject,
      publicKey,
      ...(issuerCertificate ? { issuer: issuerCertificate } : {}),
      notBefore,
      notAfter: notAfterWithin(notBefore, step.days, issuerCertificate),
      ...distributionUrls(config, step, issuerCertificate),
    },
    device.signer(parent?.keyLabel ?? step.keyLabel),
    { verifier: device },
  );
  const certificate = parseCertificate(der);
  const serial = Buffer.from(certificate.serialNumber).toString('hex');
  const issuerId = step.parentId ?? step.id;
  await transact(async (client) => {
    await client.query(
      `INSERT INTO issuers (id, kind, parent_id, key_label, subject, certificate, subject_key_id, not_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        step.id,
        step.kind,
        step.parentId,
        step.keyLabel,
        subject.map((a) => `${a.type}=${a.value}`).join(', '),
        der,
        keyIdentifier(decodeSm2Spki(certificate.spki)),
        certificate.notAfter,
      ],
    );
    // Certificates the hierarchy issues to itself are certificates like any other: OCSP and CRLs cover them.
    await client.query(
      `INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after, request_id, issued_at)
       VALUES ($1, $2, 'good', $3, $4, $5, $6, $7, $8, $9, now())`,
      [
        issuerId,
        serial,
        step.profile,
        `CN=${step.commonName}`,
        certificate.tbs,
        der,
        certificate.notBefore,
        certificate.notAfter,
        `ceremony:${step.id}`,
      ],
    );
    await publishStatus(client, { issuerId, serial, status: 'good' });
    await publishIssuerCreated(client, step.id);
    await recordAudit(client, actor, {
      action: 'issuer.create',
      subjectType: 'issuer',
      subjectId: step.id,
      after: { serial, keyLabel: step.keyLabel },
    });
  });
  progress(`${step.commonName}: certificate ${serial}`);
  return {
    id: step.id,
    kind: step.kind,
    parentId: step.parentId,
    keyLabel: step.keyLabel,
    certificate,
  };
}

/**
 * `days` from `notBefore`, but never past the issuer's own notAfter: relying parties (and our linter)
 * refuse a certificate that outlives the one that vouches for it.
 */
function notAfterWithin(notBefore: Date, days: number, issuer: ParsedCertificate | undefined): Date {
  const wanted = notBefore.getTime() + days * DAY_MS;
  return new Date(issuer ? Math.min(wanted, issuer.notAfter.getTime()) : wanted);
}

/**
 * An OCSP signer carries id-pkix-ocsp-nocheck, so relying parties never look up its
 * status: it gets only the way to its issuer's certificate.
 */
function distributionUrls(config: Config, step: IssuerToCreate, parent: ParsedCertificate | undefined) {
  if (!step.parentId) return {};
  const urls = issuerUrls(config, step.parentId, parent?.subject);
  if (step.kind === 'ocsp') return { caIssuersUrls: [urls.caCertificate] };
  return {
    crlDistributionPoints: urls.crlDistributionPoints,
    ocspUrls: [urls.ocsp],
    caIssuersUrls: [urls.caCertificate],
  };
}
