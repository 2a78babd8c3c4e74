/**
 * The headers every answer carries: the security headers of every response, and the CORS headers of
 * the public client endpoints. app.ts sets them through middleware; the check's dispatch before the
 * router (routes/check.ts) sets the same on its own answers.
 */

// Nothing this Worker serves is a page: forbid everything a browser could do with a response, so
// even an artifact uploaded as text/html cannot run script on this origin.
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
};

// Client endpoints are public and read-only, and the SDK runs in browsers: allow any origin, without
// credentials, and let scripts read the caching and range headers. Any OPTIONS is a preflight.
export const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'ETag, Content-Length, Content-Range, Accept-Ranges',
};
export const PREFLIGHT_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, If-None-Match, If-Range, Range',
  'Access-Control-Max-Age': '86400',
};

/** What a public client endpoint's answer carries: CORS, then the security headers over it. */
export const PUBLIC_HEADERS: Record<string, string> = { ...CORS_HEADERS, ...SECURITY_HEADERS };

/** `response` with `values` set; one passed through from fetch() has immutable headers, so it is copied. */
export function withHeaders(response: Response, values: Record<string, string>): Response {
  try {
    setAll(response.headers, values);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    setAll(copy.headers, values);
    return copy;
  }
}

function setAll(headers: Headers, values: Record<string, string>): void {
  for (const name in values) {
    const value = values[name];
    if (value !== undefined) headers.set(name, value);
  }
}
