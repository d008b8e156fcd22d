import { useSyncExternalStore } from 'react';
import { session } from '../../lib/session';

export const useSession = () => useSyncExternalStore(session.subscribe, session.token, () => null);
