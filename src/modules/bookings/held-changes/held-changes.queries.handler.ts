import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type CalendarHeldChanges, CalendarsWithHeldChangesQuery, ListHeldChangesQuery } from './held-changes.queries.js';
import type { HeldChangesView } from './held-changes-view.js';
import { HeldChangesRepository } from './held-changes.repository.js';

@QueryHandler(ListHeldChangesQuery)
export class ListHeldChangesHandler implements IQueryHandler<ListHeldChangesQuery> {
  constructor(private readonly holds: HeldChangesRepository) {}

  execute({ filter }: ListHeldChangesQuery): Promise<HeldChangesView[]> {
    return this.holds.views(filter);
  }
}

@QueryHandler(CalendarsWithHeldChangesQuery)
export class CalendarsWithHeldChangesHandler implements IQueryHandler<CalendarsWithHeldChangesQuery> {
  constructor(private readonly holds: HeldChangesRepository) {}

  execute(): Promise<CalendarHeldChanges[]> {
    return this.holds.openByCalendar();
  }
}
