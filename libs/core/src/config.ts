import path from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import { readOrCreateSecret } from './secrets';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;
const toFloat = ({ value }: { value: unknown }) =>
  value === undefined || value === ''
    ? undefined
    : /^-?\d+(\.\d+)?$/.test(String(value))
      ? Number(value)
      : value;
const toBool = ({ value }: { value: unknown }) =>
  value === undefined || value === ''
    ? undefined
    : value === 'true'
      ? true
      : value === 'false'
        ? false
        : value;
/** Who may read the OpenAPI document and Swagger UI (`/api/docs`, `/api/docs-json`). */
export const API_DOCS_MODES = ['public', 'authenticated', 'off'] as const;
export type ApiDocsMode = (typeof API_DOCS_MODES)[number];

const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** The environment as it arrives; every variable of SPEC §8 plus the few operational ones. */
class EnvironmentVariables {
  @IsOptional() @IsIn(['development', 'production', 'test']) NODE_ENV?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsIn(API_DOCS_MODES) API_DOCS?: ApiDocsMode;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MaxLength(80) PORTAL_SERVICE_NAME?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MaxLength(120) PORTAL_ORGANISATION?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^\/assets\/[\w./-]+$/, { message: 'must be a path under /assets/ served by this service' })
  PORTAL_LOGO?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional() @Transform(emptyToUndefined) @IsString() DATA_DIR?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsEmail() ADMIN_EMAIL?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(12)
  @MaxLength(256)
  ADMIN_PASSWORD?: string;
  @IsOptional() @Transform(toBool) @IsBoolean() DEMO_SEED?: boolean;
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  PSEUDONYM_KEY_SECRET?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[A-Za-z0-9_-]{43}$/, { message: 'must be 32 bytes, base64url (43 characters)' })
  REGISTER_SIGNING_KEY?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(365) AWARENESS_DAYS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(365) TARGET_SCREENING_WORKING_DAYS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3650) TARGET_DECISION_DAYS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(50) PANEL_QUORUM?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(1000) ANON_K?: number;
  /** Events an attacker may know (kᵐ-anonymity's m); `ANON_KM_M` is read where `ANON_M` is unset. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3) ANON_M?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3) ANON_KM_M?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000) AGG_MIN_POPULATION?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(1000) AGG_MIN_POPULATION_MARGIN?: number;
  @IsOptional() @Transform(toFloat) @IsNumber() @Min(0) @Max(0.5) ANON_MAX_SUPPRESSION?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(60) @Max(3600) ACCESS_TOKEN_TTL_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(300) @Max(2_592_000) REFRESH_TOKEN_TTL_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(60) CACHE_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000) AUTH_FAILURES_PER_MINUTE?: number;
  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL?: string;
  @IsOptional() @Transform(toBool) @IsBoolean() RUN_WORKER?: boolean;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(64) WORKER_CONCURRENCY?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000_000) RELEASE_SHARD_ROWS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(256) RELEASE_MAX_SHARDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(9) RELEASE_GZIP_LEVEL?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000) RELEASE_BYTES_PER_ROW?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600) RELEASE_ORPHAN_CHECK_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(3600) RELEASE_SHARD_LEASE_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(60) HTTP_HEADERS_TIMEOUT_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_048_576) HTTP_BODY_MIN_BYTES_PER_SECOND?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(60) HTTP_BODY_WINDOW_SECONDS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) UPLOADS_PER_USER?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) UPLOADS_PER_PRACTICE?: number;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsEmail() SMTP_FROM?: string;
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'must be an http(s):// URL without query' })
  PORTAL_BASE_URL?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(20) NOTIFY_MAX_ATTEMPTS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600) NOTIFY_RETRY_SECONDS?: number;
}

export interface AppConfig {
  mode: 'demo' | 'production' | 'test';
  databaseUrl?: string;
  port: number;
  /** Root of everything the service keeps on disk in demo mode (embedded PostgreSQL, generated secrets). */
  stateDir: string;
  dataDir: string;
  admin?: { email: string; password: string };
  demoSeed: boolean;
  jwtSecret: string;
  pseudonymKeySecret: string;
  /**
   * Seed (32 bytes, base64url) of the centre's Ed25519 key that signs register checkpoints (#24):
   * `REGISTER_SIGNING_KEY`, else generated once into the state directory like the demo secrets.
   */
  registerSigningKey: string;
  awarenessDays: number;
  /** Published turnaround targets (#24): screening within working days (Mon–Fri), a decision within days of submission. */
  targetScreeningWorkingDays: number;
  targetDecisionDays: number;
  panelQuorum: number;
  anonK: number;
  /** kᵐ-anonymity's m: events an attacker may know (anonymised tier), 1–3. */
  anonM: number;
  /** Fewest persons behind an aggregate table and behind each value of each of its dimensions. */
  aggMinPopulation: number;
  /**
   * Width of the keyed margin above `aggMinPopulation`: each comparison of the aggregate minimum
   * population needs `aggMinPopulation` + a keyed offset in [0, width] (release `aggregate-threshold.ts`).
   */
  aggMinPopulationMargin: number;
  anonMaxSuppression: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /**
   * How long a process may reuse a session check or a bid read (0: ask PostgreSQL on every
   * request); committed changes reach every process's caches at once (LISTEN/NOTIFY).
   */
  cacheSeconds: number;
  /**
   * Requests with a bad access token one client address may make in a minute before the rest of
   * that minute is answered 429 (other addresses, and good tokens, are unaffected).
   */
  authFailuresPerMinute: number;
  logLevel: string;
  /** public: anyone; authenticated: a signed-in user's bearer token; off: not served. */
  apiDocs: ApiDocsMode;
  /**
   * The portal header's identity: the deploying body's service name, organisation and logo (a path
   * under /assets/). By default the product's own name and logo, never the NHS's.
   */
  portal: { serviceName: string; organisation: string | null; logo: string };
  runWorker: boolean;
  workerConcurrency: number;
  /** A release is split into shards of about this many output rows (by person), built in parallel. */
  releaseShardRows: number;
  releaseMaxShards: number;
  releaseGzipLevel: number;
  /**
   * The free-space check's estimate of gzip bytes per output row: a record-level release needs
   * twice its estimated rows at this size free on DATA_DIR before its shards are built.
   */
  releaseBytesPerRow: number;
  /** How often each worker looks for `running` releases with no live builder and queues them again. */
  releaseOrphanCheckSeconds: number;
  /** A shard claim not renewed for this long (its worker paused or stalled) is taken over. */
  releaseShardLeaseSeconds: number;
  /**
   * Slow clients (slowloris): the request line and headers must arrive within
   * `httpHeadersTimeoutSeconds`; a body must average `httpBodyMinBytesPerSecond` over every
   * `httpBodyWindowSeconds` (a JSON body must also arrive whole within one window). Both bounds are
   * capped at 60 s, so a trickling client never holds a socket longer than a minute.
   */
  httpHeadersTimeoutSeconds: number;
  httpBodyMinBytesPerSecond: number;
  httpBodyWindowSeconds: number;
  /** Uploads (extracts, source files, cohorts) in flight at once, per user and per practice. */
  uploadsPerUser: number;
  uploadsPerPractice: number;
  /**
   * Email notifications (#25, docs/NOTIFICATIONS.md): without `smtpUrl` messages stay in the
   * outbox (shown in the portal). `smtpUrl` may carry credentials: never logged or stored.
   */
  notifications: {
    smtpUrl: string | null;
    from: string;
    /** The portal's address as recipients reach it: every message links there. */
    portalBaseUrl: string;
    /** Tries per message (the first included) before it is marked failed. */
    maxAttempts: number;
    /** Delay before the first retry; doubled for each later one. */
    retrySeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the environment once. Throws ConfigError naming every bad variable;
 * values are never echoed, since some of them are secrets.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // An empty variable means unset (as in `DATABASE_URL= npm start`).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const raw = plainToInstance(EnvironmentVariables, present, { excludeExtraneousValues: false });
  const problems = validateSync(raw, { whitelist: false, forbidUnknownValues: false }).map(
    (e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`,
  );
  if ((raw.ADMIN_EMAIL === undefined) !== (raw.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_EMAIL/ADMIN_PASSWORD: set both or neither');
  }
  const mode = raw.NODE_ENV === 'production' ? 'production' : raw.NODE_ENV === 'test' ? 'test' : 'demo';
  if (mode === 'production') {
    if (!raw.JWT_SECRET) problems.push('JWT_SECRET: required in production (no default)');
    if (!raw.PSEUDONYM_KEY_SECRET) problems.push('PSEUDONYM_KEY_SECRET: required in production (no default)');
    if (!raw.DATABASE_URL) problems.push('DATABASE_URL: required in production');
  }
  if (problems.length) throw new ConfigError(problems);

  const stateDir = path.resolve(present.CUSTODIAN_STATE_DIR ?? '.data');
  return {
    mode,
    databaseUrl: raw.DATABASE_URL,
    port: raw.PORT ?? 3000,
    stateDir,
    dataDir: path.resolve(raw.DATA_DIR ?? path.join(stateDir, 'releases')),
    admin: raw.ADMIN_EMAIL
      ? { email: raw.ADMIN_EMAIL.toLowerCase(), password: raw.ADMIN_PASSWORD! }
      : undefined,
    demoSeed: raw.DEMO_SEED ?? mode === 'demo',
    jwtSecret: raw.JWT_SECRET ?? readOrCreateSecret(stateDir, 'JWT_SECRET'),
    pseudonymKeySecret: raw.PSEUDONYM_KEY_SECRET ?? readOrCreateSecret(stateDir, 'PSEUDONYM_KEY_SECRET'),
    registerSigningKey: raw.REGISTER_SIGNING_KEY ?? readOrCreateSecret(stateDir, 'REGISTER_SIGNING_KEY'),
    awarenessDays: raw.AWARENESS_DAYS ?? 28,
    targetScreeningWorkingDays: raw.TARGET_SCREENING_WORKING_DAYS ?? 10,
    targetDecisionDays: raw.TARGET_DECISION_DAYS ?? 60,
    panelQuorum: raw.PANEL_QUORUM ?? 3,
    anonK: raw.ANON_K ?? 10,
    anonM: raw.ANON_M ?? raw.ANON_KM_M ?? 2,
    aggMinPopulation: raw.AGG_MIN_POPULATION ?? 100,
    // 2 × 7: twice the band that primary suppression hides (0–7), probe 27.
    aggMinPopulationMargin: raw.AGG_MIN_POPULATION_MARGIN ?? 14,
    anonMaxSuppression: raw.ANON_MAX_SUPPRESSION ?? 0.05,
    accessTokenTtlSeconds: raw.ACCESS_TOKEN_TTL_SECONDS ?? 900,
    refreshTokenTtlSeconds: raw.REFRESH_TOKEN_TTL_SECONDS ?? 7 * 24 * 3600,
    cacheSeconds: raw.CACHE_SECONDS ?? 10,
    authFailuresPerMinute: raw.AUTH_FAILURES_PER_MINUTE ?? 30,
    logLevel: raw.LOG_LEVEL ?? (mode === 'test' ? 'silent' : 'info'),
    apiDocs: raw.API_DOCS ?? (mode === 'production' ? 'authenticated' : 'public'),
    portal: {
      serviceName: raw.PORTAL_SERVICE_NAME ?? 'Custodian: health data access',
      organisation: raw.PORTAL_ORGANISATION ?? null,
      logo: raw.PORTAL_LOGO ?? '/assets/portal/custodian-icon.svg',
    },
    runWorker: raw.RUN_WORKER ?? true,
    workerConcurrency: raw.WORKER_CONCURRENCY ?? 2,
    releaseShardRows: raw.RELEASE_SHARD_ROWS ?? 250_000,
    releaseMaxShards: raw.RELEASE_MAX_SHARDS ?? 2,
    releaseGzipLevel: raw.RELEASE_GZIP_LEVEL ?? 3,
    releaseBytesPerRow: raw.RELEASE_BYTES_PER_ROW ?? 64,
    releaseOrphanCheckSeconds: raw.RELEASE_ORPHAN_CHECK_SECONDS ?? 60,
    releaseShardLeaseSeconds: raw.RELEASE_SHARD_LEASE_SECONDS ?? 60,
    httpHeadersTimeoutSeconds: raw.HTTP_HEADERS_TIMEOUT_SECONDS ?? 20,
    httpBodyMinBytesPerSecond: raw.HTTP_BODY_MIN_BYTES_PER_SECOND ?? 1024,
    httpBodyWindowSeconds: raw.HTTP_BODY_WINDOW_SECONDS ?? 30,
    uploadsPerUser: raw.UPLOADS_PER_USER ?? 2,
    uploadsPerPractice: raw.UPLOADS_PER_PRACTICE ?? 2,
    notifications: {
      smtpUrl: raw.SMTP_URL ?? null,
      from: raw.SMTP_FROM ?? 'custodian@localhost',
      portalBaseUrl: (raw.PORTAL_BASE_URL ?? `http://localhost:${raw.PORT ?? 3000}`).replace(/\/+$/, ''),
      maxAttempts: raw.NOTIFY_MAX_ATTEMPTS ?? 5,
      retrySeconds: raw.NOTIFY_RETRY_SECONDS ?? 30,
    },
  };
}

/** Injection token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');
