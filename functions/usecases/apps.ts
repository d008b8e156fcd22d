// An app by its id, for the admin API's routes that name one in their path.
import { getApp } from '../../core/db/apps.js';
import type { App } from '../../schema/tables.js';
import type { Services } from '../http/services.js';
import { notFound } from './errors.js';

export async function appOf(s: Services, id: string): Promise<App> {
  const app = await getApp(s.db, id);
  if (!app) throw notFound(`no app ${id}`);
  return app;
}
