import { BadRequestException, type ExecutionContext, createParamDecorator } from '@nestjs/common';

export const ACTOR_HEADER = 'x-actor';
export const DEFAULT_ACTOR = 'admin-api';
const MAX_ACTOR_LENGTH = 100;

/**
 * Who is making an admin change, for the audit columns (`updatedBy`, `assignedBy`): the optional
 * `X-Actor` header, trimmed, else "admin-api". A malformed header is refused rather than dropped,
 * so the audit trail never silently loses a name.
 */
export function parseActor(header: string | string[] | undefined): string {
  if (header === undefined) return DEFAULT_ACTOR;
  if (Array.isArray(header)) throw new BadRequestException('Send at most one X-Actor header');
  const actor = header.trim();
  if (actor === '') return DEFAULT_ACTOR;
  // \p{C}: control, format, private-use and unassigned characters.
  if (actor.length > MAX_ACTOR_LENGTH || /\p{C}/u.test(actor)) {
    throw new BadRequestException(`X-Actor must be at most ${MAX_ACTOR_LENGTH} printable characters`);
  }
  return actor;
}

export const AdminActor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
  return parseActor(request.headers[ACTOR_HEADER]);
});
