export { APP_CONFIG, type AppConfig, ConfigError, loadConfig } from './config';
export { CoreConfigModule } from './config.module';
export {
  CurrentUser,
  IS_PUBLIC,
  type Principal,
  Public,
  type PublicRouteConfig,
  ReqMeta,
  type RequestMeta,
  requestMeta,
  type Role,
  ROLES,
} from './decorators';
export {
  BodyTooSlowError,
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors';
export { GlobalExceptionFilter, isDatabaseUnavailable, toErrorBody } from './exception.filter';
export { genReqId, httpLoggerOptions, internalCallHeaders, loggerParams, readableLogLine } from './logger';
export { isValidNhsNumber, normaliseNhsNumber } from './nhs-number';
export { CALENDAR_YEARS, instantDate, isCalendarDate, isInstant } from './calendar';
export { normalisePostcode, POSTCODE } from './postcode';
export {
  assertPageInRange,
  DecimalInt,
  IsCalendarDate,
  IsInstant,
  IsNhsNumber,
  IsOdsCode,
  isOdsCode,
  IsOmittable,
  IsPageNumber,
  IsPlainText,
  isPlainText,
  IsPostcode,
  normaliseName,
  NotBefore,
  storedName,
  ODS_CODE,
} from './validation';
export { type Action, Can, PERMISSION, type Permission, type SubjectName } from './permission';
export { readOrCreateSecret } from './secrets';
export {
  hasLoneSurrogate,
  jsonDepth,
  jsonShape,
  MAX_JSON_CONTAINERS,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  MAX_JSON_VALUES,
} from './json-depth';
export { mediaType, StreamedBody, type StreamedBodyConfig } from './streamed-body';
export { spoolBody, type SpooledBody } from './spool';
export { spreadsheetText } from './spreadsheet';
export { retryTransient } from './transient';
export { ERROR_CODES } from './error-codes';
export { CORE_ERRORS } from './core.errors';
export { builtInKeys, ParsePositiveIntPipe, ParseUUIDPipe, StrictValidationPipe } from './pipes';
export { isNotTheRequestsChange, markNotTheRequestsChange } from './request-change';
export { englandWallClock, todayInEngland, todayUtc, wallClockInEngland } from './england-time';
export { ensureDataDir, startFailure } from './start-checks';
