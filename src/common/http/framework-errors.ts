import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER } from '../../bootstrap/request-id.js';
import { PROBLEM_CONTENT_TYPE_HEADER, problemBody } from '../errors/problem.js';

/** Fastify's errors before routing, as calsync answers them (any other: its status's code). */
const FRAMEWORK_ERRORS: Record<string, { code: string; detail: string }> = {
  FST_ERR_BAD_URL: { code: 'bad_url', detail: 'The request URL is not valid: a path segment has a malformed percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'uri_too_long',
    detail: 'The request URL has a path segment longer than the service accepts',
  },
};

/** Node's parser refusals, by the status Fastify's default handler gives them. */
const CLIENT_ERRORS: Record<number, { code: string; detail: string }> = {
  400: { code: 'bad_request', detail: 'The request is not valid HTTP' },
  408: { code: 'request_timeout', detail: 'The request was not received in time' },
  431: { code: 'headers_too_large', detail: 'The request headers (or its URL) are larger than the service accepts' },
};

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
  const known = error.code === undefined ? undefined : FRAMEWORK_ERRORS[error.code];
  const requestId = String(request.id);
  void reply
    .code(status)
    .header(REQUEST_ID_HEADER, requestId)
    .header('content-type', PROBLEM_CONTENT_TYPE_HEADER)
    .send(problemBody(status, known?.detail ?? 'The request could not be routed', requestId, known?.code));
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
  const requestId = randomUUID();
  const body = JSON.stringify(problemBody(status, CLIENT_ERRORS[status].detail, requestId, CLIENT_ERRORS[status].code));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n${REQUEST_ID_HEADER}: ${requestId}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE_HEADER}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
