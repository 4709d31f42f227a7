/**
 * Where each setting comes from. One table, so the error for a bad value can
 * name the environment variable the operator actually set.
 */
export interface SettingSource {
  path: string;
  env: string;
  fallback?: string | number | boolean;
}

const service = (name: string, port: number, host = '127.0.0.1'): SettingSource[] => [
  { path: `services.${name}.host`, env: `SM2CA_${name.toUpperCase()}_HOST`, fallback: host },
  { path: `services.${name}.port`, env: `SM2CA_${name.toUpperCase()}_PORT`, fallback: port },
];

export const settingSources: SettingSource[] = [
  { path: 'home', env: 'SM2CA_HOME', fallback: './var' },
  { path: 'databaseUrl', env: 'DATABASE_URL' },
  { path: 'databaseReplicaUrl', env: 'DATABASE_REPLICA_URL' },
  { path: 'embeddedPostgresPort', env: 'SM2CA_PG_PORT', fallback: 54329 },
  { path: 'databasePoolSize', env: 'SM2CA_DB_POOL_SIZE', fallback: 10 },
  { path: 'logLevel', env: 'LOG_LEVEL', fallback: 'info' },
  { path: 'device.module', env: 'SM2CA_DEVICE_MODULE' },
  { path: 'device.vendor', env: 'SM2CA_DEVICE_VENDOR', fallback: 'hsm-sim' },
  { path: 'device.tokenLabel', env: 'SM2CA_TOKEN_LABEL', fallback: 'sm2ca' },
  { path: 'device.pin', env: 'SM2CA_DEVICE_PIN' },
  { path: 'device.soPin', env: 'SM2CA_DEVICE_SO_PIN' },
  { path: 'device.pinSource', env: 'SM2CA_DEVICE_PIN_SOURCE', fallback: 'file' },
  { path: 'device.sessions', env: 'SM2CA_DEVICE_SESSIONS', fallback: 8 },
  { path: 'ca.organization', env: 'SM2CA_ORGANIZATION', fallback: 'SM2CA' },
  { path: 'ca.name', env: 'SM2CA_CA_NAME', fallback: 'SM2CA' },
  { path: 'ca.rootDays', env: 'SM2CA_ROOT_CA_DAYS', fallback: 3650 },
  { path: 'ca.issuingDays', env: 'SM2CA_ISSUING_CA_DAYS', fallback: 1826 },
  { path: 'ca.ocspSignerCheckMinutes', env: 'SM2CA_OCSP_SIGNER_CHECK_MINUTES', fallback: 60 },
  { path: 'ca.allowHolderEncryptionKeys', env: 'SM2CA_ALLOW_HOLDER_ENCRYPTION_KEYS', fallback: false },
  { path: 'ocsp.validityHours', env: 'SM2CA_OCSP_VALIDITY_HOURS', fallback: 24 },
  { path: 'ocsp.liveSigningPerSecond', env: 'SM2CA_OCSP_LIVE_SIGNING_RATE', fallback: 10 },
  { path: 'ocsp.liveSigningBurst', env: 'SM2CA_OCSP_LIVE_SIGNING_BURST', fallback: 50 },
  { path: 'monitor.intervalSeconds', env: 'SM2CA_MONITOR_INTERVAL_SECONDS', fallback: 30 },
  { path: 'crl.intervalMinutes', env: 'SM2CA_CRL_INTERVAL_MINUTES', fallback: 60 },
  { path: 'crl.deltaIntervalMinutes', env: 'SM2CA_CRL_DELTA_INTERVAL_MINUTES', fallback: 10 },
  { path: 'crl.debounceSeconds', env: 'SM2CA_CRL_DEBOUNCE_SECONDS', fallback: 2 },
  { path: 'crl.scheduleCheckSeconds', env: 'SM2CA_CRL_SCHEDULE_CHECK_SECONDS', fallback: 30 },
  { path: 'audit.checkpointMinutes', env: 'SM2CA_AUDIT_CHECKPOINT_MINUTES', fallback: 10 },
  { path: 'audit.checkpointSink', env: 'SM2CA_AUDIT_CHECKPOINT_SINK' },
  { path: 'km.poolSize', env: 'SM2CA_KM_POOL_SIZE', fallback: 100 },
  { path: 'km.poolLowWater', env: 'SM2CA_KM_POOL_LOW_WATER', fallback: 25 },
  { path: 'km.archiveAfterDays', env: 'SM2CA_KM_ARCHIVE_AFTER_DAYS', fallback: 365 },
  { path: 'lifecycle.archiveAfterDays', env: 'SM2CA_ARCHIVE_AFTER_DAYS', fallback: 365 },
  { path: 'lifecycle.holderRetentionYears', env: 'SM2CA_HOLDER_RETENTION_YEARS', fallback: 5 },
  { path: 'lifecycle.governmentRetentionYears', env: 'SM2CA_GOVERNMENT_RETENTION_YEARS', fallback: 10 },
  { path: 'lifecycle.archiveCheckMinutes', env: 'SM2CA_ARCHIVE_CHECK_MINUTES', fallback: 60 },
  { path: 'issueRetrySeconds', env: 'SM2CA_ISSUE_RETRY_SECONDS', fallback: 15 },
  { path: 'http.headersTimeoutSeconds', env: 'SM2CA_HTTP_HEADERS_TIMEOUT_SECONDS', fallback: 10 },
  { path: 'http.requestTimeoutSeconds', env: 'SM2CA_HTTP_REQUEST_TIMEOUT_SECONDS', fallback: 30 },
  { path: 'downloadCodeDays', env: 'SM2CA_DOWNLOAD_CODE_DAYS', fallback: 7 },
  { path: 'judicialApprovalHours', env: 'SM2CA_JUDICIAL_APPROVAL_HOURS', fallback: 72 },
  { path: 'caActions.approvals', env: 'SM2CA_CA_ACTION_APPROVALS', fallback: 2 },
  { path: 'caActions.hours', env: 'SM2CA_CA_ACTION_HOURS', fallback: 24 },
  { path: 'publicUrls.ocsp', env: 'SM2CA_OCSP_URL', fallback: 'http://127.0.0.1:8083/ocsp' },
  { path: 'publicUrls.crl', env: 'SM2CA_CRL_URL', fallback: 'http://127.0.0.1:8084' },
  { path: 'publicUrls.ldap', env: 'SM2CA_LDAP_PUBLIC_URL' },
  { path: 'directory.url', env: 'SM2CA_LDAP_URL' },
  { path: 'directory.bindDn', env: 'SM2CA_LDAP_BIND_DN' },
  { path: 'directory.password', env: 'SM2CA_LDAP_PASSWORD' },
  { path: 'directory.baseDn', env: 'SM2CA_LDAP_BASE_DN', fallback: 'c=CN' },
  { path: 'directory.holderEntry', env: 'SM2CA_LDAP_HOLDER_ENTRY', fallback: 'subject' },
  { path: 'directory.localPort', env: 'SM2CA_LDAP_PORT', fallback: 8389 },
  { path: 'directory.retryMaxSeconds', env: 'SM2CA_LDAP_RETRY_MAX_SECONDS', fallback: 300 },
  ...service('ra', 8080, '0.0.0.0'),
  ...service('ca', 8081),
  ...service('km', 8082),
  ...service('ocsp', 8083, '0.0.0.0'),
  ...service('crl', 8084, '0.0.0.0'),
  ...service('monitor', 8085),
];
