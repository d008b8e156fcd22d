// Whose adapter a version is: a user of an app, or one of its styles. The repository functions of adapters,
// webhooks and invalidations all speak of owners; the type lives apart so none has to import another for it.
export type AdapterOwner = { appId: string; userId: string } | { appId: string; styleId: string };
