/** Thrown by portal code to send the browser elsewhere (sign-in, after a POST); the portal filter answers it. */
export class PortalRedirect extends Error {
  constructor(
    readonly location: string,
    readonly status: 302 | 303 = 303,
  ) {
    super(`redirect to ${location}`);
    this.name = 'PortalRedirect';
  }
}

/** An error page: status, title and a sentence for the user (never internals). */
export class PortalPageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(title);
    this.name = 'PortalPageError';
  }
}

/** An answer of the API the page did not expect (status and the contract's error body). */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: string; message?: string; details?: unknown } | undefined,
  ) {
    super(body?.message ?? `API answered ${status}`);
    this.name = 'ApiCallError';
  }
}
