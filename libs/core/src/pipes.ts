import { ArgumentMetadata, ParseUUIDPipe as NestParseUUIDPipe } from '@nestjs/common';

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
