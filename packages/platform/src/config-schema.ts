import { type Static, Type } from '@sinclair/typebox';

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Listen = Type.Object({ host: Type.String({ minLength: 1 }), port: Port });

export const ConfigSchema = Type.Object({
  /** Data directory for the embedded database, the hsm-sim token and generated secrets. */
  home: Type.String({ minLength: 1 }),
  /** External PostgreSQL; when absent the embedded one under `home` is started. */
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  embeddedPostgresPort: Port,
  /** A streaming replica the OCSP responder may read from; the primary when absent. */
  databaseReplicaUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  databasePoolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
  logLevel: Type.Union([
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ]),
  device: Type.Object({
    module: Type.Optional(Type.String({ minLength: 1 })),
    vendor: Type.Union([
      Type.Literal('hsm-sim'),
      Type.Literal('sansec'),
      Type.Literal('tass'),
      Type.Literal('softhsm'),
    ]),
    tokenLabel: Type.String({ minLength: 1, maxLength: 32 }),
    pin: Type.Optional(Type.String({ minLength: 4 })),
    soPin: Type.Optional(Type.String({ minLength: 4 })),
    /**
     * Where the embedded hsm-sim token's user PIN comes from: `file` (pins.json beside the token,
     * development only), `env` (SM2CA_DEVICE_PIN) or `prompt` (asked by `sm2ca start`, handed to the
     * services it starts through their environment).
     */
    pinSource: Type.Union([Type.Literal('file'), Type.Literal('env'), Type.Literal('prompt')]),
    sessions: Type.Integer({ minimum: 1, maximum: 256 }),
  }),
  /** Names written into the CA certificates at the key ceremony. */
  ca: Type.Object({
    organization: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 48 }),
    /** GmSSL and several GM relying parties refuse a certificate valid longer than 3653 days. */
    rootDays: Type.Integer({ minimum: 1, maximum: 3653 }),
    /** Shorter than the root's, so the issuing CA is renewed while the root still stands. */
    issuingDays: Type.Integer({ minimum: 1, maximum: 3653 }),
    /** How often the CA checks that each CA has a usable OCSP signer not due for renewal. */
    ocspSignerCheckMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /**
     * Whether the RA may ask for an encryption certificate on a key the holder brought. A GM CA
     * issues encryption certificates only for keys its KM generated and escrows, hence false.
     */
    allowHolderEncryptionKeys: Type.Boolean(),
  }),
  ocsp: Type.Object({
    /** nextUpdate − thisUpdate of every response; pre-signed ones are refreshed at half of it. */
    validityHours: Type.Integer({ minimum: 1, maximum: 168 }),
    /** Responses signed on demand (nonce, several CertIDs, a serial not in memory) per client address. */
    liveSigningPerSecond: Type.Integer({ minimum: 1, maximum: 100_000 }),
    /** How many such responses a client may get at once before the rate applies. */
    liveSigningBurst: Type.Integer({ minimum: 1, maximum: 100_000 }),
  }),
  crl: Type.Object({
    /** Full CRL cycle; the regulations allow at most 24 hours. */
    intervalMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /** Delta CRLs between full ones. */
    deltaIntervalMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /** Quiet time after a revocation before the CRL that carries it is published. */
    debounceSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  }),
  audit: Type.Object({
    /** How often the chain head is signed by the audit key (when the chain has grown). */
    checkpointMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /** A file every checkpoint is also appended to, besides <home>/audit/checkpoints.jsonl. */
    checkpointSink: Type.Optional(Type.String({ minLength: 1 })),
  }),
  /** The KM's pool of encryption key pairs generated ahead, so issuance never waits on key generation. */
  km: Type.Object({
    /** How many pooled key pairs the filler keeps at most. */
    poolSize: Type.Integer({ minimum: 1, maximum: 100_000 }),
    /** Below this many the filler tops the pool up to poolSize. */
    poolLowWater: Type.Integer({ minimum: 0, maximum: 100_000 }),
    /**
     * Days a revoked or expired escrow stays among the active ones before it moves to the archive,
     * where it is still kept and still recoverable; nothing is ever deleted.
     */
    archiveAfterDays: Type.Integer({ minimum: 0, maximum: 36_500 }),
  }),
  /** Certificates after their active life (migrations/0017; per-profile renewal policy is in profile_lifecycle). */
  lifecycle: Type.Object({
    /** Days a certificate stays among the current ones after it expired or was revoked, before it is archived. */
    archiveAfterDays: Type.Integer({ minimum: 0, maximum: 36_500 }),
    /** Years a holder's records are kept after the certificate expires; the regulations ask for at least 5. */
    holderRetentionYears: Type.Integer({ minimum: 5, maximum: 100 }),
    /** The same for government bodies (党政机关); the regulations ask for at least 10. */
    governmentRetentionYears: Type.Integer({ minimum: 10, maximum: 100 }),
    /** How often the RA's leader looks for certificates due for the archive (also on every status change). */
    archiveCheckMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  }),
  /** How often the RA looks for issuances whose CA call failed and are due to be sent again. */
  issueRetrySeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  /** Every service's HTTP server: how long a client may take to send a request. */
  http: Type.Object({
    /** From connecting to the end of the headers. */
    headersTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600 }),
    /** From connecting to the end of the body; a request that announces a body and never sends it ends here. */
    requestTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  }),
  /** How long a holder's certificate download code stays valid. */
  downloadCodeDays: Type.Integer({ minimum: 1, maximum: 90 }),
  /** How long a key administrator's approval of a judicial key recovery counts. */
  judicialApprovalHours: Type.Integer({ minimum: 1, maximum: 720 }),
  /** Dual control of the CA-level actions (revoking the hierarchy, RA key rotation, sub-CAs, CA signatures). */
  caActions: Type.Object({
    /** m of the m-of-n: super administrators other than the requester who must approve. */
    approvals: Type.Integer({ minimum: 2, maximum: 16 }),
    /** How long a request stays open for approvals and, once approved, for the CA to carry it out. */
    hours: Type.Integer({ minimum: 1, maximum: 720 }),
  }),
  /** Operators' certificate login at the RA. */
  login: Type.Object({
    /** How long a challenge may be signed. */
    challengeSeconds: Type.Integer({ minimum: 10, maximum: 3600 }),
    /** How long a session lasts from login; there is no renewal short of logging in again. */
    sessionMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    /** Failed logins (after a valid signature) tolerated before the account locks. */
    maxFailures: Type.Integer({ minimum: 1, maximum: 100 }),
    /** The first lockout; each further failure doubles it, up to maxLockoutSeconds. */
    lockoutSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
    maxLockoutSeconds: Type.Integer({ minimum: 1, maximum: 604_800 }),
    /** Anonymous challenge requests answered per client address and minute; more get 429. */
    challengesPerMinute: Type.Integer({ minimum: 1, maximum: 100_000 }),
    /**
     * The TOTP seal key itself (at least 32 bytes: hex when every character is a hex digit, else
     * base64), for RA replicas on several hosts; when absent, $SM2CA_HOME/secrets/totp-seal.key.
     */
    totpSealKey: Type.Optional(Type.String({ pattern: '^([0-9A-Fa-f]{64,}|[A-Za-z0-9+/]{43,}={0,2})$' })),
  }),
  /** Base URLs relying parties use; they go into every certificate (CRL DP, AIA). */
  publicUrls: Type.Object({
    ocsp: Type.String({ pattern: '^https?://[^/]+(/.*)?$' }),
    crl: Type.String({ pattern: '^https?://[^/]+(/.*)?$' }),
    /**
     * The directory as relying parties reach it (ldap://host:port): when set, certificates carry
     * an ldap:// CRL distribution point to their CA's entry beside the HTTP one.
     */
    ldap: Type.Optional(Type.String({ pattern: '^ldaps?://[^/?]+/?$' })),
  }),
  /** The LDAP directory certificates and CRLs are published to. */
  directory: Type.Object({
    /** An existing directory; when absent, `sm2ca start` runs a local slapd if one is installed. */
    url: Type.Optional(Type.String({ pattern: '^ldaps?://' })),
    bindDn: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    /** Where the published entries live; the part of a name it shares with the base is not repeated. */
    baseDn: Type.String({ minLength: 1 }),
    /**
     * How a holder's subject names its entry: 'subject' keeps the whole name (cn=…,ou=…,o=…
     * under the base), 'commonName' puts every holder directly under the base by its CN.
     */
    holderEntry: Type.Union([Type.Literal('subject'), Type.Literal('commonName')]),
    /** The port of the local slapd `sm2ca start` runs. */
    localPort: Port,
    /** Longest wait between two attempts of an item the directory refused or could not take. */
    retryMaxSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  }),
  services: Type.Object({
    ra: Listen,
    ca: Listen,
    km: Listen,
    ocsp: Listen,
    crl: Listen,
  }),
});

export type Config = Static<typeof ConfigSchema>;
