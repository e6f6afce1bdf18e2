/** A booking's guest as a write asks for it. */
export interface Guest {
  email: string;
  name: string | null;
}

/**
 * Whether a write's guests are the guests the event already had (the same addresses and names, in
 * any order). Both providers replace an event's attendee list whole on a PATCH that names it,
 * which resets every guest's answer and drops what calsync does not track (rooms the host booked,
 * optional attendees, the organizer's own entry), so a write whose guests did not change leaves the
 * list out altogether.
 */
export function sameGuests(before: readonly Guest[], after: readonly Guest[]): boolean {
  if (before.length !== after.length) return false;
  const key = (g: Guest) => `${g.email.toLowerCase()}\u0000${g.name ?? ''}`;
  const wanted = new Set(after.map(key));
  return before.every((g) => wanted.has(key(g)));
}

/**
 * A provider's attendee entries with the booking's guests applied: entries that are not guests
 * (`keep`: rooms, the organizer's own entry) stay as they are; a guest still invited keeps its
 * entry (its answer, optional or required), with the booking's name where it gives one; a guest no
 * longer invited goes; a new guest is added by `add`.
 */
export function applyGuests<T>(
  current: readonly T[],
  guests: readonly Guest[],
  entry: { email(entry: T): string | null; keep(entry: T): boolean; rename(entry: T, name: string): T; add(guest: Guest): T },
): T[] {
  const wanted = new Map(guests.map((g) => [g.email.toLowerCase(), g]));
  const result: T[] = [];
  for (const item of current) {
    const email = entry.email(item)?.toLowerCase();
    if (entry.keep(item)) {
      result.push(item);
      if (email !== undefined) wanted.delete(email); // present already: not added a second time
      continue;
    }
    const guest = email === undefined ? undefined : wanted.get(email);
    if (!guest) continue;
    wanted.delete(guest.email.toLowerCase());
    result.push(guest.name ? entry.rename(item, guest.name) : item);
  }
  for (const guest of wanted.values()) result.push(entry.add(guest));
  return result;
}
