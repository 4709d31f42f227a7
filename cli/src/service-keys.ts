import type { Device } from '@sm2ca/device';
import { decodeSm2Spki, toHex } from '@sm2ca/gm';
import { keyIdentifier } from '@sm2ca/pki';
import type { Pool } from '@sm2ca/store';

/**
 * Label families the services own: the ceremony's root-ca, sub-ca, ra and ocsp-<ca>-<n>, and the KM
 * and audit keys to come. The ceremony adopts a key it finds under its label, so none of these may
 * be made or used through the generic device commands, in any spelling of case.
 */
const reservedFamilies = ['root', 'sub', 'ca', 'ra', 'ocsp', 'km', 'audit'];
const reservedPattern = new RegExp(`^(${reservedFamilies.join('|')})([-_.\\d]|$)|[-_.]ca$`);

const reservedLabelFamilies = reservedFamilies.map((family) => `${family}*`).join(', ');

/** RFC 5280 key identifier of an SM2 public key, as the issuers table records it; none for other key types. */
export function sm2KeyId(spki: Uint8Array): Uint8Array | undefined {
  try {
    return keyIdentifier(decodeSm2Spki(spki));
  } catch (err) {
    if ((err as { code?: string }).code === 'SPKI_UNSUPPORTED_CURVE') return undefined;
    throw err;
  }
}

function isReservedLabel(label: string): boolean {
  return reservedPattern.test(label.trim().toLowerCase());
}

/** Which service key the ceremony recorded under `label` (in any case), if any. */
async function issuerWithLabel(pool: Pool, label: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ id: string; kind: string }>(
    'SELECT id, kind FROM issuers WHERE lower(key_label) = lower($1)',
    [label],
  );
  return rows[0] && `${rows[0].kind} key of issuer ${rows[0].id}`;
}

/**
 * Why a new key may not take `label`, or nothing: a label a service owns by convention or
 * by the ceremony's record.
 */
export async function keygenRefusal(pool: Pool, label: string): Promise<string | undefined> {
  if (isReservedLabel(label)) return `"${label}" is reserved for service keys (${reservedLabelFamilies})`;
  const issuer = await issuerWithLabel(pool, label);
  return issuer && `"${label}" is the ${issuer}`;
}

/**
 * Why the key under `label` may not sign through the generic command, or nothing. Besides the
 * label, the key itself is compared with every service key on record, so a service key reached
 * under another label (a copy, a renamed object) is refused all the same.
 */
export async function signRefusal(pool: Pool, device: Device, label: string): Promise<string | undefined> {
  const byLabel = await keygenRefusal(pool, label);
  if (byLabel) return byLabel;
  const keyId = sm2KeyId(await device.publicKey(label));
  // Service keys are SM2; another key type cannot be one of them.
  if (!keyId) return undefined;
  const { rows } = await pool.query<{ id: string; kind: string }>(
    'SELECT id, kind FROM issuers WHERE subject_key_id = $1',
    [Buffer.from(keyId)],
  );
  return (
    rows[0] && `the key under "${label}" is the ${rows[0].kind} key of issuer ${rows[0].id} (${toHex(keyId)})`
  );
}
