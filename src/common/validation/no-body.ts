import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import { ValidationFailedException } from '../errors/problem.js';

/**
 * For a write route that takes no body (`POST …/rotate-secret`, `PUT …/members/:userId`, …): an
 * empty body, `{}` or none, goes through; any field is an unknown field, a 400 that runs nothing,
 * as on every route with a body (the contract: unknown fields rejected). A parameter decorator, not
 * a DTO, so the OpenAPI document shows no request body for these routes.
 */
export const NoBody = createParamDecorator((_data: unknown, context: ExecutionContext): undefined => {
  const body = context.switchToHttp().getRequest<{ body?: unknown }>().body;
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'object' && !Array.isArray(body)) {
    const fields = Object.keys(body);
    if (fields.length === 0) return undefined;
    throw new ValidationFailedException(fields.map((field) => ({ field, message: `property ${field} is not allowed` })));
  }
  throw new ValidationFailedException([{ field: '', message: 'this route takes no body (or an empty JSON object)' }]);
});
