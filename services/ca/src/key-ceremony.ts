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
import { type Config, issuerUrls, recordAudit } from '@sm2ca/platform';
import { type Pool, withTransaction } from '@sm2ca/store';
import { type IssuerKind, loadIssuers } from './issuers.ts';

interface CeremonyStep {
  id: string;
  kind: IssuerKind;
  parentId: string | null;
  profile: ProfileId;
  keyLabel: string;
  commonName: string;
  years: number;
}

const YEAR_MS = 365.25 * 86_400_000;

/** The hierarchy `init` creates: root → issuing CA → the RA's own certificate. */
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
      years: 20,
    },
    {
      id: 'sub',
      kind: 'subordinate',
      parentId: 'root',
      profile: 'sub-ca',
      keyLabel: 'sub-ca',
      commonName: `${name} Issuing CA`,
      years: 10,
    },
    {
      id: 'ra',
      kind: 'ra',
      parentId: 'sub',
      profile: 'device-sign',
      keyLabel: 'ra',
      commonName: `${name} RA`,
      years: 2,
    },
  ];
}

/** A key left by an interrupted ceremony is used, not replaced: its label is already reserved for it. */
async function keyFor(device: Device, label: string): Promise<Uint8Array> {
  try {
    return await device.publicKey(label);
  } catch (err) {
    if ((err as { code?: string }).code !== 'DEVICE_KEY_NOT_FOUND') throw err;
    return device.generateKeyPair({ label, token: true, extractable: false });
  }
}

/**
 * Creates whatever part of the CA hierarchy is missing — keys inside the
 * device (non-extractable), certificates signed there and checked under the GM
 * default ID, all recorded in the database. A second run changes nothing.
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
    progress(`generating the ${step.commonName} key in the device (label "${step.keyLabel}")`);
    const publicKey = await keyFor(device, step.keyLabel);
    const parent = step.parentId ? issuers.get(step.parentId) : undefined;
    const issuerCertificate: ParsedCertificate | undefined = parent?.certificate;
    const notBefore = new Date();
    const subject: DnAttribute[] = [
      { type: 'C', value: 'CN' },
      { type: 'O', value: config.ca.organization },
      { type: 'CN', value: step.commonName },
    ];
    const urls = step.parentId ? issuerUrls(config, step.parentId) : undefined;
    const der = await issueCertificate(
      {
        profile: step.profile,
        subject,
        publicKey,
        ...(issuerCertificate ? { issuer: issuerCertificate } : {}),
        notBefore,
        notAfter: new Date(notBefore.getTime() + step.years * YEAR_MS),
        ...(urls
          ? { crlDistributionPoints: [urls.crl], ocspUrls: [urls.ocsp], caIssuersUrls: [urls.caCertificate] }
          : {}),
      },
      device.signer(parent?.keyLabel ?? step.keyLabel),
      { verifier: device },
    );
    const certificate = parseCertificate(der);
    const serial = Buffer.from(certificate.serialNumber).toString('hex');
    await withTransaction(pool, async (client) => {
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
          step.parentId ?? step.id,
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
      await recordAudit(
        client,
        { name: 'cli', role: 'key_ceremony' },
        {
          action: 'issuer.create',
          subjectType: 'issuer',
          subjectId: step.id,
          after: { serial, keyLabel: step.keyLabel },
        },
      );
    });
    issuers.set(step.id, {
      id: step.id,
      kind: step.kind,
      parentId: step.parentId,
      keyLabel: step.keyLabel,
      certificate,
    });
    created.push(step.id);
    progress(`${step.commonName}: certificate ${serial}`);
  }
  return { created };
}
