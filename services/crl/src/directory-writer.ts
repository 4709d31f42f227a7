import { formatDn, type Rdn } from '@sm2ca/platform';
import {
  AlreadyExistsError,
  Attribute,
  Change,
  Client,
  NoSuchAttributeError,
  NoSuchObjectError,
  ObjectClassViolationError,
  TypeOrValueExistsError,
} from 'ldapts';

export interface DirectoryConnection {
  url: string;
  bindDn?: string;
  password?: string;
}

/** What an entry is for: a holder's (pkiUser) or a CA's (pkiCA, with its CRLs). */
export type EntryRole = 'holder' | 'ca';

/** The structural class an entry named by this RDN type gets when the publisher creates it. */
function structuralClasses(rdn: Rdn, role: EntryRole | undefined): Record<string, string | string[]> {
  switch (rdn.type.toLowerCase()) {
    case 'c':
      return { objectClass: 'country' };
    case 'o':
      return { objectClass: 'organization' };
    case 'ou':
      return { objectClass: 'organizationalUnit' };
    case 'l':
    case 'st':
      return { objectClass: 'locality' };
    case 'cn':
      // cRLDistributionPoint is the structural class RFC 4523 gives CRLs; a holder is a person
      // (sn is a MUST of person and a holder has only the one name).
      return role === 'ca'
        ? { objectClass: 'cRLDistributionPoint' }
        : { objectClass: 'person', sn: rdn.value };
    default:
      return { objectClass: 'applicationProcess', cn: rdn.value };
  }
}

// deltaCRL too: a CA entry not named by a CN has no structural class that allows delta CRLs.
const AUXILIARY: Record<EntryRole, string[]> = { holder: ['pkiUser'], ca: ['pkiCA', 'deltaCRL'] };

function attributesOf(entry: readonly Rdn[], role: EntryRole | undefined): Record<string, string | string[]> {
  const rdn = entry[0]!;
  const structural = structuralClasses(rdn, role);
  const classes = [structural.objectClass as string, ...(role ? AUXILIARY[role] : [])];
  return { ...structural, objectClass: classes, [rdn.type]: rdn.value };
}

/**
 * One bound connection to the directory and the few writes the publisher makes. Each write
 * is idempotent (adding a value already there, removing one already gone, are no-ops) so an
 * item published twice — a crash between the directory's answer and the outbox update —
 * leaves the same directory. Missing entries and their parents are created on the way.
 */
export class DirectoryWriter {
  readonly #client: Client;
  readonly #connection: DirectoryConnection;
  #bound: Promise<void> | undefined;

  constructor(connection: DirectoryConnection, timeoutMs = 10_000) {
    this.#connection = connection;
    // autoRebind: a connection slapd closed (restart, idle timeout) comes back bound as before.
    this.#client = new Client({
      url: connection.url,
      timeout: timeoutMs,
      connectTimeout: timeoutMs,
      strictDN: false,
      autoRebind: true,
    });
  }

  /** Binds once for all the writes in flight; a failed bind is tried again by the next write. */
  async #ready(): Promise<Client> {
    const { bindDn, password } = this.#connection;
    this.#bound ??= bindDn ? this.#client.bind(bindDn, password ?? '') : Promise.resolve();
    try {
      await this.#bound;
    } catch (err) {
      this.#bound = undefined;
      throw err;
    }
    return this.#client;
  }

  async close(): Promise<void> {
    this.#bound = undefined;
    await this.#client.unbind().catch(() => {});
  }

  /** Adds a value to an entry (creating the entry, with `role`'s auxiliary class, if need be). */
  async addValue(entry: readonly Rdn[], role: EntryRole, type: string, value: Uint8Array): Promise<void> {
    const change = new Change({
      operation: 'add',
      modification: new Attribute({ type, values: [Buffer.from(value)] }),
    });
    await this.#modifyOrCreate(entry, role, [change], { [type]: value });
  }

  /** Replaces every value of an attribute by this one (a newer CRL over the older one). */
  async replaceValue(entry: readonly Rdn[], role: EntryRole, type: string, value: Uint8Array): Promise<void> {
    const change = new Change({
      operation: 'replace',
      modification: new Attribute({ type, values: [Buffer.from(value)] }),
    });
    await this.#modifyOrCreate(entry, role, [change], { [type]: value });
  }

  /** Removes a value; an entry or value not there is what was wanted. */
  async removeValue(entry: readonly Rdn[], type: string, value: Uint8Array): Promise<void> {
    const client = await this.#ready();
    const change = new Change({
      operation: 'delete',
      modification: new Attribute({ type, values: [Buffer.from(value)] }),
    });
    try {
      await client.modify(formatDn(entry), change);
    } catch (err) {
      if (err instanceof NoSuchObjectError || err instanceof NoSuchAttributeError) return;
      throw err;
    }
  }

  async #modifyOrCreate(
    entry: readonly Rdn[],
    role: EntryRole,
    changes: Change[],
    values: Record<string, Uint8Array>,
  ): Promise<void> {
    const client = await this.#ready();
    const dn = formatDn(entry);
    try {
      await client.modify(dn, changes);
    } catch (err) {
      if (err instanceof TypeOrValueExistsError) return;
      if (err instanceof NoSuchObjectError) {
        const attributes = [
          ...Object.entries(attributesOf(entry, role)).map(
            ([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] }),
          ),
          ...Object.entries(values).map(([type, v]) => new Attribute({ type, values: [Buffer.from(v)] })),
        ];
        // Made meanwhile by someone else: then it still needs the change.
        if (await this.#create(entry, attributes)) return;
        await client.modify(dn, changes).catch((again: unknown) => {
          if (!(again instanceof TypeOrValueExistsError)) throw again;
        });
        return;
      }
      // An entry made by someone else, without the auxiliary class the attribute belongs to.
      if (err instanceof ObjectClassViolationError) {
        const objectClass = new Change({
          operation: 'add',
          modification: new Attribute({ type: 'objectClass', values: AUXILIARY[role] }),
        });
        await client.modify(dn, [objectClass, ...changes]);
        return;
      }
      throw err;
    }
  }

  /** Adds an entry, its missing parents first; false when it was there already. */
  async #create(entry: readonly Rdn[], attributes: Attribute[]): Promise<boolean> {
    const client = await this.#ready();
    try {
      await client.add(formatDn(entry), attributes);
      return true;
    } catch (err) {
      if (err instanceof AlreadyExistsError) return false;
      if (!(err instanceof NoSuchObjectError) || entry.length <= 1) throw err;
      const parent = entry.slice(1);
      const parentAttributes = Object.entries(attributesOf(parent, undefined)).map(
        ([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] }),
      );
      await this.#create(parent, parentAttributes);
      return this.#create(entry, attributes);
    }
  }
}
