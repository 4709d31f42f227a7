import type { PoolClient } from '@sm2ca/store';

export interface CertificateRef {
  issuerId: string;
  serial: string;
}

/**
 * The other certificate of a dual enrollment's pair: the encryption certificate of a signature
 * certificate, or the reverse. Both were issued by one CA for one application, so the
 * application that recorded them is where the pair is known.
 */
export async function twinOf(
  client: Pick<PoolClient, 'query'>,
  issuerId: string,
  serial: string,
): Promise<CertificateRef | undefined> {
  const { rows } = await client.query(
    `SELECT issuer_id, CASE WHEN serial = $2 THEN encryption_serial ELSE serial END AS twin_serial
       FROM applications
      WHERE dual AND status = 'issued' AND issuer_id = $1 AND (serial = $2 OR encryption_serial = $2)`,
    [issuerId, serial],
  );
  return rows[0] ? { issuerId: rows[0].issuer_id, serial: rows[0].twin_serial } : undefined;
}
