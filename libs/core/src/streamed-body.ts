import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiConsumes, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { RouteFlags } from './decorators';
import { UploadSlotInterceptor } from './upload-slots';

/** What an upload route declares in its Fastify route config (`req.routeOptions.config`). */
export interface StreamedBodyConfig {
  streamedBody?: string;
  /** Other names of the same format the route also takes (e.g. FHIR's `application/fhir+ndjson`). */
  streamedAliases?: string[];
}

/**
 * Marks an upload route: its body, of exactly this content type (or one of its aliases, the same
 * format under another registered name), reaches the handler as a stream
 * (to be spooled, see `spoolBody`), and no other content type is accepted (415). Every route without
 * it takes a JSON object or no body at all: a stream must never reach the ValidationPipe, whose
 * class-transformer walks into the socket handle and aborts Node. An upload also takes one of
 * the caller's upload slots (UploadSlots) before its body is read.
 */
export const StreamedBody = (contentType: string, ...aliases: string[]) =>
  applyDecorators(
    RouteFlags({ streamedBody: contentType, streamedAliases: aliases } satisfies StreamedBodyConfig),
    ApiConsumes(contentType, ...aliases),
    UseInterceptors(UploadSlotInterceptor),
    ApiTooManyRequestsResponse({ description: 'TOO_MANY_UPLOADS: too many uploads in flight' }),
  );

/** `text/csv; charset=utf-8` → `text/csv`; absent → undefined. */
export function mediaType(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  return value.split(';')[0].trim().toLowerCase();
}
