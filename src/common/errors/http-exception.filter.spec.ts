import { type ArgumentsHost, BadRequestException, ConflictException, Logger } from '@nestjs/common';
import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { ProviderError } from '../../modules/providers/provider.errors.js';
import { ConflictError, InvalidRequestError, NotFoundError, codeFromClassName } from './domain-error.js';
import { HttpExceptionFilter } from './http-exception.filter.js';
import { ProblemException, ValidationFailedException } from './problem.js';
import { onUniqueViolation } from './unique-violation.js';

class ThingNotFoundError extends NotFoundError {
  constructor() {
    super('Thing 7 not found');
  }
}
class ThingTakenError extends ConflictError {
  constructor() {
    super('Thing 7 already exists');
  }
}
class BadThingError extends InvalidRequestError {
  constructor() {
    super('things must not repeat');
  }
}
class CodedThingError extends InvalidRequestError {
  constructor() {
    super('things must be round', 'thing_not_round');
  }
}

function uniqueViolation(constraint: string): QueryFailedError {
  return new QueryFailedError(
    'INSERT …',
    [],
    Object.assign(new Error(`duplicate key value violates unique constraint "${constraint}"`), {
      code: '23505',
      constraint,
    }),
  );
}

/** What the filter sends for `exception`, answering the request with id `req-1`. */
function reply(exception: unknown): { status: number; body: unknown; headers: Record<string, string> } {
  const sent: { status: number; body: unknown; headers: Record<string, string> } = { status: 0, body: undefined, headers: {} };
  const response = {
    status(code: number) {
      sent.status = code;
      return response;
    },
    header(name: string, value: string) {
      sent.headers[name] = value;
      return response;
    },
    send(body: unknown) {
      sent.body = body;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ id: 'req-1' }) }),
  } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  return sent;
}

async function thrownBy(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe('HttpExceptionFilter', () => {
  const logError = Logger.prototype.error;
  let logged: unknown[];
  beforeEach(() => {
    logged = [];
    Logger.prototype.error = (message: unknown) => void logged.push(message);
  });
  afterEach(() => {
    Logger.prototype.error = logError;
  });

  it.each([
    [new ThingNotFoundError(), 404, 'Not Found', 'Thing 7 not found', 'thing_not_found'],
    [new ThingTakenError(), 409, 'Conflict', 'Thing 7 already exists', 'thing_taken'],
    [new BadThingError(), 400, 'Bad Request', 'things must not repeat', 'bad_thing'],
    [new CodedThingError(), 400, 'Bad Request', 'things must be round', 'thing_not_round'],
    [
      new ConflictException('Nest exceptions still map as they are'),
      409,
      'Conflict',
      'Nest exceptions still map as they are',
      'conflict',
    ],
    [
      new ProblemException(422, 'thing_mismatch', 'That key was used with another thing'),
      422,
      'Unprocessable Content',
      'That key was used with another thing',
      'thing_mismatch',
    ],
    [new BadRequestException(['a is wrong', 'b is wrong']), 400, 'Bad Request', 'a is wrong; b is wrong', 'bad_request'],
  ])('maps %p as problem+json', (exception, status, title, detail, code) => {
    expect(reply(exception)).toEqual({
      status,
      body: { type: 'about:blank', title, status, detail, code, requestId: 'req-1' },
      headers: { 'content-type': 'application/problem+json; charset=utf-8', 'x-request-id': 'req-1' },
    });
    expect(logged).toEqual([]);
  });

  it('lists each field of a validation failure, with a readable summary', () => {
    const failure = new ValidationFailedException([
      { field: 'attendees', message: 'attendees is required' },
      { field: 'startTime', message: 'startTime must be an ISO 8601 date-time' },
    ]);
    expect(reply(failure).body).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: '2 problems in the request: attendees is required; startTime must be an ISO 8601 date-time',
      code: 'validation_failed',
      errors: [
        { field: 'attendees', message: 'attendees is required' },
        { field: 'startTime', message: 'startTime must be an ISO 8601 date-time' },
      ],
      requestId: 'req-1',
    });
  });

  it('answers a provider timeout as a 504 with its own code', () => {
    expect(reply(new ProviderError('p', 'timeout', 'after 5000 ms')).body).toMatchObject({
      status: 504,
      code: 'provider_timeout',
      detail: 'The calendar provider did not answer in time: after 5000 ms',
    });
  });

  it('keeps a 500 generic and logs what happened', () => {
    expect(reply(new Error('secret internals at db.ts:12')).body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal server error',
      code: 'internal_error',
      requestId: 'req-1',
    });
    // Logged under the request's id, as a field of the line.
    expect(logged[0]).toEqual({ reqId: 'req-1', msg: expect.stringContaining('secret internals at db.ts:12') });
  });

  it('answers a database that cannot serve (out of connections, restarting, unreachable, connection cut) with 503 and Retry-After, not 500', () => {
    const refused = (code: string, message: string) =>
      new QueryFailedError('SELECT …', [], Object.assign(new Error(message), { code }));
    const unavailable = [
      refused('53300', 'sorry, too many clients already'),
      refused('57P01', 'terminating connection due to administrator command'),
      refused('57P03', 'the database system is starting up'),
      refused('08006', 'connection failure'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new QueryRunnerAlreadyReleasedError(),
      new QueryRunnerProviderAlreadyReleasedError(),
    ];
    for (const error of unavailable) {
      const sent = reply(error);
      expect(sent.status).toBe(503);
      expect(sent.headers['retry-after']).toBe('2');
      expect(sent.body).toMatchObject({ status: 503, code: 'database_unavailable', requestId: 'req-1' });
      // Nothing of the driver's message reaches the caller.
      expect(JSON.stringify(sent.body)).not.toMatch(/127\.0\.0\.1|clients|administrator/);
    }
    // Logged as one warning per request, not as an error with a stack.
    expect(logged).toEqual([]);
    // A statement the database refused is still not "unavailable".
    expect(reply(refused('42P01', 'relation "x" does not exist')).status).toBe(500);
    expect(reply(new Error('Connection pool of a webhook endpoint is full')).status).toBe(500);
  });

  it('derives a domain error code from the class name', () => {
    expect(codeFromClassName('BookingNotFoundError')).toBe('booking_not_found');
    expect(codeFromClassName('OAuthStateError')).toBe('oauth_state');
    expect(codeFromClassName('HTTPTimeoutError')).toBe('http_timeout');
  });

  it('answers a unique violation a module declared as a 409 with that module’s error', async () => {
    const error = await thrownBy(() =>
      onUniqueViolation({ Thing_key: () => new ThingTakenError() }, () => Promise.reject(uniqueViolation('Thing_key'))),
    );
    expect(error).toBeInstanceOf(ThingTakenError);
    expect(reply(error).body).toMatchObject({
      status: 409,
      title: 'Conflict',
      detail: 'Thing 7 already exists',
      code: 'thing_taken',
    });
  });

  it('answers any other unique violation with a 500, and logs it with its constraint', async () => {
    const error = await thrownBy(() =>
      onUniqueViolation({ Thing_key: () => new ThingTakenError() }, () => Promise.reject(uniqueViolation('Other_key'))),
    );
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(reply(error).body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal server error',
      code: 'internal_error',
      requestId: 'req-1',
    });
    expect(logged[0]).toEqual({ reqId: 'req-1', msg: 'Unique violation of an undeclared constraint: "Other_key"' });
    expect(logged[1]).toEqual({
      reqId: 'req-1',
      msg: expect.stringContaining('duplicate key value violates unique constraint "Other_key"'),
    });
  });

  it('passes other errors through onUniqueViolation untouched', async () => {
    const failure = new Error('boom');
    expect(await thrownBy(() => onUniqueViolation({}, () => Promise.reject(failure)))).toBe(failure);
    expect(await onUniqueViolation({}, () => Promise.resolve(42))).toBe(42);
  });
});
