import type { KeyBinding } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { statusEventSql } from './certificate-events.ts';

/** One item of a chunk, planned: what the single issue path's plan statement records. */
export interface ChunkPlan {
  requestId: string;
  digest: Buffer;
  serial: string;
  profile: string;
  subject: string;
  tbs: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  holderKey: string | null;
  binding: KeyBinding;
}

/**
 * The chunk's planned certificates in one statement, hence one transaction: per item, exactly
 * what the single plan statement writes (key binding, ledger row, planned certificate), each
 * row hanging off the one before it, so an item whose key is bound elsewhere or whose request
 * id is already in the ledger writes nothing. The request ids that were planned.
 * The items' keys and request ids must be distinct within the chunk.
 */
export async function planChunk(pool: Pool, issuerId: string, plans: ChunkPlan[]): Promise<Set<string>> {
  const { rows } = await pool.query({
    name: 'ca-plan-chunk',
    text: `WITH input AS (
             SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[],
                                  $7::timestamptz[], $8::text[], $9::text[], $10::bytea[], $11::bytea[],
                                  $12::text[], $13::text[])
               AS i(serial, profile, subject, tbs, not_before, not_after, request_id, holder_key,
                    body_digest, spki_sha256, holder, purpose)
           ), binding AS (
             INSERT INTO certified_keys (spki_sha256, holder, purpose, first_issuer_id, first_serial)
             SELECT spki_sha256, holder, purpose, $1, serial FROM input
              WHERE NOT EXISTS (SELECT FROM ca_requests r WHERE r.request_id = input.request_id)
             ON CONFLICT (spki_sha256) DO UPDATE SET holder = EXCLUDED.holder
              WHERE certified_keys.holder = EXCLUDED.holder AND certified_keys.purpose = EXCLUDED.purpose
                AND NOT EXISTS (SELECT FROM compromised_keys x WHERE x.spki_sha256 = EXCLUDED.spki_sha256)
             RETURNING spki_sha256
           ), ledger AS (
             INSERT INTO ca_requests (request_id, operation, body_digest, issuer_id, serial)
             SELECT i.request_id, 'issue', i.body_digest, $1, i.serial FROM input i JOIN binding USING (spki_sha256)
             ON CONFLICT (request_id) DO NOTHING RETURNING request_id
           )
           INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, not_before, not_after, request_id, holder_key)
           SELECT $1, i.serial, 'planned', i.profile, i.subject, i.tbs, i.not_before, i.not_after, i.request_id, i.holder_key
             FROM input i JOIN ledger USING (request_id)
           RETURNING request_id`,
    values: [
      issuerId,
      plans.map((p) => p.serial),
      plans.map((p) => p.profile),
      plans.map((p) => p.subject),
      plans.map((p) => Buffer.from(p.tbs)),
      plans.map((p) => p.notBefore),
      plans.map((p) => p.notAfter),
      plans.map((p) => p.requestId),
      plans.map((p) => p.holderKey),
      plans.map((p) => p.digest),
      plans.map((p) => p.binding.spkiSha256),
      plans.map((p) => p.binding.holder),
      plans.map((p) => p.binding.purpose),
    ],
  });
  return new Set(rows.map((r) => r.request_id as string));
}

/** One signed certificate of a chunk, with the ledger's answer and the audit record it comes with. */
export interface ChunkSigned {
  serial: string;
  certificate: Uint8Array;
  requestId: string;
  response: object;
  audit: object;
}

/**
 * The chunk's signed certificates stored in one statement, hence one transaction: per item what
 * the single store statement writes (certificate good, ledger answer, status event, audit
 * record), all hanging off the UPDATE, so an item a twin stored first writes nothing. The
 * serials that were stored.
 */
export async function storeChunk(pool: Pool, issuerId: string, signed: ChunkSigned[]): Promise<Set<string>> {
  const { rows } = await pool.query({
    name: 'ca-store-chunk',
    text: `WITH input AS (
             SELECT * FROM unnest($2::text[], $3::bytea[], $4::text[], $5::jsonb[], $6::jsonb[])
               AS i(serial, der, request_id, response, audit)
           ), stored AS (
             UPDATE certificates c SET status = 'good', der = i.der, issued_at = now()
               FROM input i
              WHERE c.issuer_id = $1 AND c.serial = i.serial AND c.status = 'planned'
              RETURNING c.issuer_id, c.serial
           ), ledger AS (
             UPDATE ca_requests r SET response = i.response
               FROM input i JOIN stored USING (serial)
              WHERE r.request_id = i.request_id
           ), ${statusEventSql('stored', "'good'")}, audit AS (
             INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
             SELECT 'ra', 'ra_instruction', 'certificate.issue', 'certificate', s.issuer_id || '/' || s.serial, i.audit
               FROM stored s JOIN input i USING (serial)
           )
           SELECT serial FROM stored CROSS JOIN (SELECT count(*) FROM notified) n`,
    values: [
      issuerId,
      signed.map((s) => s.serial),
      signed.map((s) => Buffer.from(s.certificate)),
      signed.map((s) => s.requestId),
      signed.map((s) => JSON.stringify(s.response)),
      signed.map((s) => JSON.stringify(s.audit)),
    ],
  });
  return new Set(rows.map((r) => r.serial as string));
}
