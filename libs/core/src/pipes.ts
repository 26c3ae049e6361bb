import {
  ArgumentMetadata,
  ParseIntPipe,
  ParseUUIDPipe as NestParseUUIDPipe,
  ValidationPipe,
} from '@nestjs/common';

/**
 * A UUID path or query parameter, else 400; passed on in its canonical lower case (RFC 9562 §4:
 * UUIDs are read in either case). An upper-case release id was found by the database (uuid) but
 * named no directory, so every download of a release the view called downloadable was a 404
 * (probe 20); ids compared or stored as text (audit entries, file paths) now match.
 */
export class ParseUUIDPipe extends NestParseUUIDPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    const id: unknown = await super.transform(value, metadata);
    return typeof id === 'string' ? id.toLowerCase() : (id as string);
  }
}

/**
 * The global ValidationPipe, except that a named path or query parameter declared as a number is
 * converted only from a decimal integer; anything else reaches the parameter's own pipe as sent.
 * Nest's converts with `Number()`, so `0x2`, `2e0`, `2.0`, `+2` and ` 2` were 2 before
 * ParseIntPipe saw them: one amendment answered at many addresses, and a write went through on
 * any of them (probe 32).
 */
export class StrictValidationPipe extends ValidationPipe {
  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.metatype === Number && typeof value === 'string' && !/^-?\d+$/.test(value)) return value;
    return super.transformPrimitive(value, metadata);
  }
}

/**
 * A path parameter that counts from 1 (a bid version): a decimal whole number of at least 1, else
 * 400, as the document's `minimum: 1` says (`0` and `-1` were looked up and answered 404).
 */
export class ParsePositiveIntPipe extends ParseIntPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<number> {
    const n = await super.transform(value, metadata);
    if (typeof n !== 'number' || n < 1)
      throw this.exceptionFactory(`${metadata.data ?? 'the parameter'} must be a whole number of at least 1`);
    return n;
  }
}
