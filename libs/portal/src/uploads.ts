import type { FastifyReply } from 'fastify';
import { PortalApi, PortalRequest, ApiAnswer } from './portal-api';
import { PortalAuthGuard } from './portal-auth.guard';
import { PortalPageError } from './portal-errors';
import { MultipartError, multipartBoundary, NoFilePart, streamMultipart } from './multipart';

/** A file chosen in an upload form was empty or missing (the API is not called). */
export class NoFileChosen extends Error {}

/**
 * Streams an upload form's file to an API upload route: the form's CSRF token (a field before the
 * file) is checked first, then the file goes on as the API's content type, never held whole.
 */
export async function forwardUpload<T>(
  guard: PortalAuthGuard,
  api: PortalApi,
  req: PortalRequest,
  apiUrl: string,
  contentType: string,
): Promise<ApiAnswer<T>> {
  const boundary = multipartBoundary(req.headers['content-type']);
  if (!boundary)
    throw new PortalPageError(400, 'The file could not be read', 'Choose the file again and send it.');
  try {
    return await streamMultipart(req.body as AsyncIterable<Buffer>, boundary, async (fields, file) => {
      await guard.assertUploadCsrf(req, fields._csrf);
      if (!file.filename) throw new NoFileChosen();
      return api.upload<T>(req, 'POST', apiUrl, contentType, file.stream);
    });
  } catch (e) {
    if (e instanceof NoFilePart) {
      await guard.assertUploadCsrf(req, e.fields._csrf);
      throw new NoFileChosen();
    }
    if (e instanceof MultipartError)
      throw new PortalPageError(400, 'The file could not be read', 'Choose the file again and send it.');
    throw e;
  }
}

/**
 * The answer to an upload: the next page. The upload script (XHR, for its progress bar) asks for it
 * as JSON and goes there itself; a browser without scripts follows the 303.
 */
export function afterUpload(req: PortalRequest, reply: FastifyReply, location: string): void {
  if (req.headers['x-portal-upload'] === 'xhr') {
    reply.status(200).header('content-type', 'application/json').send({ location });
    return;
  }
  reply.redirect(location, 303);
}

/**
 * An upload the API refused, kept for the upload page: one message, the same in the error summary
 * and by the file input `field` (an outsider's probe: the summary said one thing, the field another).
 */
export function uploadProblem(req: PortalRequest, message: string, field = 'file'): void {
  req.portal!.session.flash = { title: message, kind: 'error', field };
  req.portal!.dirty = true;
}

/**
 * "The extract was not accepted. The file is not FHIR NDJSON: … Nothing from it was stored." from
 * the API's refusal: the API speaks of the request's body, a person of the file they chose.
 */
export function uploadRefusal(what: string, apiMessage: unknown, otherwise: string): string {
  const said = typeof apiMessage === 'string' && apiMessage.trim() ? apiMessage.trim() : otherwise;
  const plain = said
    .replace(/\b(?:request )?body\b/gi, 'file')
    .replace(/\ban file\b/gi, 'a file')
    .replace(/^\w/, (c) => c.toUpperCase())
    .replace(/([^.!?])$/, '$1.');
  return `${what}. ${plain} Nothing from it was stored.`;
}
