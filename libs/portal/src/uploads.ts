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

/** An upload the API refused: its message, kept for the upload page to show, by the file input `field`. */
export function uploadProblem(req: PortalRequest, title: string, body: string, field = 'file'): void {
  req.portal!.session.flash = { title, body, kind: 'error', field };
  req.portal!.dirty = true;
}
