import { type Type, applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiSchema } from '@nestjs/swagger';

const pages = new Map<Type<unknown>, Type<unknown>>();

/**
 * The OpenAPI schema of one page of `item`s (`{items, nextCursor}`, see common/pagination), named
 * `<Item>Page` so generated clients get a real type. One class per item type.
 */
export function PageOf<T>(item: Type<T>): Type<{ items: T[]; nextCursor: string | null }> {
  const known = pages.get(item);
  if (known) return known as Type<{ items: T[]; nextCursor: string | null }>;
  const name = `${item.name.replace(/(Response|View|Dto)$/, '')}Page`;
  @ApiSchema({ name })
  class Page {
    @ApiProperty({ type: [item] })
    items!: T[];

    @ApiProperty({ type: String, nullable: true, description: 'pass as `after` for the next page; null on the last page' })
    nextCursor!: string | null;
  }
  pages.set(item, Page);
  return Page;
}

/** `200` with one page of `item`s. */
export const ApiPageResponse = (item: Type<unknown>) =>
  applyDecorators(ApiOkResponse({ description: 'one page; follow `nextCursor` for the next', type: PageOf(item) }));

/** ISO 8601 instants: Dates are sent as strings. */
export const DATE_TIME = { type: String, format: 'date-time' } as const;
export const NULLABLE_DATE_TIME = { type: String, format: 'date-time', nullable: true } as const;
