import { Logger } from '@nestjs/common';
import { CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { CredentialAuthFactory } from '../../connections/index.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import type { ProviderAuth } from '../../providers/provider-auth.js';
import { HeldChangesNotFoundError, HeldChangesResolvedError } from '../bookings.errors.js';
import { BookingsRepository } from '../bookings.repository.js';
import { CancelBookingCommand } from '../commands/cancel-booking.command.js';
import { deletionReason } from '../sagas/booking-sync.sagas.js';
import { ConfirmHeldChangesCommand, DiscardHeldChangesCommand } from './held-changes.commands.js';
import type { HeldChangesView } from './held-changes-view.js';
import {
  CHANGE_CONFIRMED,
  CHANGE_DISCARDED,
  CHANGE_KEPT,
  HeldChangesRepository,
  type HoldRow,
  type OpenHeldChange,
} from './held-changes.repository.js';

/**
 * Resolves a hold under its row lock: the first of two racing admins wins, the other gets
 * `HeldChangesResolvedError` (409) and changes nothing.
 */
async function lockOpenHold(holds: HeldChangesRepository, manager: Parameters<HeldChangesRepository['lock']>[0], id: number) {
  const hold = await holds.lock(manager, id);
  if (!hold) throw new HeldChangesNotFoundError(id);
  if (hold.resolution) throw new HeldChangesResolvedError(id, hold.resolution);
  return hold;
}

async function viewOf(holds: HeldChangesRepository, id: number): Promise<HeldChangesView> {
  const [view] = await holds.views({ id });
  if (!view) throw new HeldChangesNotFoundError(id);
  return view;
}

@CommandHandler(ConfirmHeldChangesCommand)
export class ConfirmHeldChangesHandler implements ICommandHandler<ConfirmHeldChangesCommand> {
  private readonly logger = new Logger('HeldChanges');

  constructor(
    private readonly dataSource: DataSource,
    private readonly holds: HeldChangesRepository,
    private readonly credentials: CredentialAuthFactory,
    private readonly providers: CalendarProviders,
    private readonly commands: CommandBus,
  ) {}

  /**
   * 1. Outside any transaction (provider calls): a get of each held booking's event. One that
   *    exists again (the host restored it, or the provider's answer was wrong) is not cancelled.
   *    A provider failure fails the confirmation (502/503) before anything changed.
   * 2. One transaction, under the hold's lock: the hold confirmed; each change either kept or
   *    written to the outbox (and its reference marked deleted), as the sync would have.
   * 3. After commit: `CancelBookingCommand` per outbox row (source: the provider), each row
   *    applied at most once. A process that dies here leaves unapplied outbox rows, which
   *    `PendingChangesReplayer` publishes again.
   */
  async execute({ holdId }: ConfirmHeldChangesCommand): Promise<HeldChangesView> {
    const hold = await this.holds.find(holdId);
    if (!hold) throw new HeldChangesNotFoundError(holdId);
    if (hold.resolution) throw new HeldChangesResolvedError(holdId, hold.resolution);
    const alive = await this.eventsAlive(await this.holds.openChanges(this.dataSource.manager, holdId));

    const toCancel = await this.dataSource.transaction(async (manager) => {
      const locked = await lockOpenHold(this.holds, manager, holdId);
      await this.holds.resolve(manager, holdId, 'confirmed');
      const recorded: Array<{ bookingId: number; changeId: string }> = [];
      for (const change of await this.holds.openChanges(manager, holdId)) {
        if (alive.has(change.bookingId)) {
          await this.holds.resolveChange(manager, holdId, change.bookingId, CHANGE_KEPT);
          continue;
        }
        const changeId = await this.holds.recordConfirmedDeletion(manager, locked, change);
        await this.holds.resolveChange(manager, holdId, change.bookingId, CHANGE_CONFIRMED, changeId);
        recorded.push({ bookingId: change.bookingId, changeId });
      }
      return recorded;
    });

    for (const { bookingId, changeId } of toCancel) {
      try {
        await this.commands.execute(new CancelBookingCommand(bookingId, deletionReason(hold.provider), hold.provider, changeId));
      } catch (error) {
        // The outbox row stays unapplied; the replayer publishes it again.
        this.logger.warn(`Held change ${changeId} (booking ${bookingId}) not applied yet: ${(error as Error).message}`);
      }
    }
    this.logger.log(`Held changes ${holdId} confirmed: ${toCancel.length} cancelled, ${alive.size} kept (event exists again)`);
    return viewOf(this.holds, holdId);
  }

  /** The held bookings whose event exists (not cancelled) where their reference points now. */
  private async eventsAlive(changes: OpenHeldChange[]): Promise<Set<number>> {
    const alive = new Set<number>();
    const auths = new Map<number, ProviderAuth | null>();
    for (const { bookingId, bookingStatus, reference } of changes) {
      if (bookingStatus !== 'accepted' || !reference || reference.deletedAt || reference.credentialId === null) continue;
      let auth = auths.get(reference.credentialId);
      if (auth === undefined) {
        const opened = await this.credentials.open(reference.credentialId).catch(() => null);
        auth = opened && opened.credential.status === 'active' ? opened.auth : null;
        auths.set(reference.credentialId, auth);
      }
      // The calendar can no longer be asked (credential revoked or removed): the person's decision stands.
      if (!auth) continue;
      const event = await this.providers
        .get(reference.provider)
        .getEvent(auth, reference.externalCalendarId, reference.externalEventId);
      if (event && event.status !== 'cancelled') alive.add(bookingId);
    }
    return alive;
  }
}

@CommandHandler(DiscardHeldChangesCommand)
export class DiscardHeldChangesHandler implements ICommandHandler<DiscardHeldChangesCommand> {
  private readonly logger = new Logger('HeldChanges');

  constructor(
    private readonly dataSource: DataSource,
    private readonly holds: HeldChangesRepository,
    private readonly bookings: BookingsRepository,
  ) {}

  /**
   * One transaction, under the hold's lock: the hold and each change discarded; each booking still
   * accepted gets its event written back: the reference counts as deleted, and the write-booking
   * job (queued in this transaction, retried while the provider fails) creates the event again
   * with the booking's idempotency key. That create converges on the event when it still exists
   * (the provider's listing was wrong), so no second event is made. No provider call here: a
   * discard works during the outage that caused the hold.
   */
  async execute({ holdId }: DiscardHeldChangesCommand): Promise<HeldChangesView> {
    let written = 0;
    await this.dataSource.transaction(async (manager) => {
      const hold: HoldRow = await lockOpenHold(this.holds, manager, holdId);
      await this.holds.resolve(manager, hold.id, 'discarded');
      for (const change of await this.holds.openChanges(manager, hold.id)) {
        await this.holds.resolveChange(manager, hold.id, change.bookingId, CHANGE_DISCARDED);
        if (change.bookingStatus !== 'accepted') continue;
        await this.holds.forgetEvent(manager, change.bookingId);
        await this.bookings.enqueueCalendarWrite(manager, change.bookingId);
        written += 1;
      }
    });
    this.logger.log(`Held changes ${holdId} discarded: ${written} events to write back`);
    return viewOf(this.holds, holdId);
  }
}
