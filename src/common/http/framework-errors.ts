import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from '../../bootstrap/request-id.js';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails, codeForStatus, reasonPhrase } from '../errors/problem.js';

/**
 * What Fastify answers before any route, hook or Nest filter runs, in the one error shape of every
 * other answer (problem+json with a `requestId`): a URL whose percent-encoding is broken
 * (`/api/v1/users/%ZZ`), a path parameter over Fastify's length limit. Fastify's `frameworkErrors`
 * option; without it Fastify answers its own JSON.
 */
export function frameworkErrors(
  error: Error & { code?: string; statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode ?? 400;
  const detail =
    error.code === 'FST_ERR_BAD_URL'
      ? 'The request URL is not valid: a path segment has a malformed percent-encoding'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'The request URL has a path segment longer than the service accepts'
        : 'The request could not be routed';
  const code =
    error.code === 'FST_ERR_BAD_URL'
      ? 'bad_url'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'uri_too_long'
        : codeForStatus(status);
  const body: ProblemDetails = {
    type: 'about:blank',
    title: reasonPhrase(status),
    status,
    detail,
    code,
    requestId: String(request.id),
  };
  void reply
    .code(status)
    .header(REQUEST_ID_HEADER, String(request.id))
    .header('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .send(body);
}

/**
 * Node's HTTP parser refusing a request (headers over its size limit: 431; a malformed request
 * line or header: 400; the client too slow to send it: 408), answered on the socket as Fastify's
 * default handler does, but in problem+json. There is no request yet, so the `requestId` is new
 * (and in the `x-request-id` header, as on every answer). Fastify's `clientErrorHandler` option.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection: nobody is there to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail =
    status === 431
      ? 'The request headers (or its URL) are larger than the service accepts'
      : status === 408
        ? 'The request was not received in time'
        : 'The request is not valid HTTP';
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: 'about:blank',
    title: reasonPhrase(status),
    status,
    detail,
    code: status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request',
    requestId,
  } satisfies ProblemDetails);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n${REQUEST_ID_HEADER}: ${requestId}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
