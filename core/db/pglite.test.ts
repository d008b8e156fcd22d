import { openPglite } from '../node/pglite.js';
import { describeDatabase } from './db-suite.js';

describeDatabase('PGlite (in memory)', () => openPglite());
