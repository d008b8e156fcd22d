// Who a request acts for, from its caller (resolved at the door: functions/http/directory.ts): the app it
// belongs to, the end user it acts for, or the app key alone.
import type { App } from '../../schema/tables.js';
import type { Caller } from '../http/directory.js';
import { forbidden, invalidInput } from './errors.js';

/**
 * The user a request acts for: a user token acts only for its own user (a body or path naming another is
 * refused); an app key must name one.
 */
export function actingUser(caller: Caller, named: string | undefined): string {
  if (caller.kind === 'user') {
    if (named !== undefined && named !== caller.userId) {
      throw forbidden(`this user token acts for user ${caller.userId} only`);
    }
    return caller.userId;
  }
  if (named === undefined) {
    throw invalidInput(
      'invalid request: user: required with an app key (the end user the request acts for)',
      {
        path: 'user',
        message: 'required with an app key',
      },
    );
  }
  return named;
}

/** The app an app key or a user token belongs to; the admin token acts for none. */
export function callerApp(caller: Caller): App {
  if (caller.kind === 'admin') throw forbidden('this route needs an app key or a user token');
  return caller.app;
}

/** The app whose API key called: a user token is refused (a device must not manage an app's webhooks). */
export function keyApp(caller: Caller): App {
  if (caller.kind !== 'app') throw forbidden("webhooks are managed with the app's API key, not a user token");
  return caller.app;
}
