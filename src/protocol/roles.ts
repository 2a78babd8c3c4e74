/**
 * Token roles (docs/protocol.md §4), each including the ones after it: admin ⊃ publisher ⊃ analyst. The one
 * list the Worker enforces, the CLI offers (`updraft token create --role`) and the dashboard reads.
 */
export const ROLES = ['admin', 'publisher', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `held` grants what `needed` requires. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) <= ROLES.indexOf(needed);
}
