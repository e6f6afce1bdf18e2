import { InitialSchema1763800000000 } from './1763800000000-InitialSchema.js';
import { QueueWorkerHeartbeat1763800000001 } from './1763800000001-QueueWorkerHeartbeat.js';
import { CacheCoverage1763800000002 } from './1763800000002-CacheCoverage.js';
import { CacheVersion1763800000003 } from './1763800000003-CacheVersion.js';
import { ChannelLifecycle1763800000004 } from './1763800000004-ChannelLifecycle.js';
import { UserTeamAncestry1763800000006 } from './1763800000006-UserTeamAncestry.js';
import { QueueWorkerBackend1763800000010 } from './1763800000010-QueueWorkerBackend.js';
import { SyncHolds1763800000011 } from './1763800000011-SyncHolds.js';
import { HostEvents1763800000012 } from './1763800000012-HostEvents.js';
import { HostIntegrationKeysAndOAuthFlows1763800000013 } from './1763800000013-HostIntegrationKeysAndOAuthFlows.js';
import { ScheduledTaskTicks1763800000014 } from './1763800000014-ScheduledTaskTicks.js';
import { ChangeOrdering1763800000015 } from './1763800000015-ChangeOrdering.js';
import { SyncPreferences1763800000016 } from './1763800000016-SyncPreferences.js';
import { ConflictPolicies1763800000017 } from './1763800000017-ConflictPolicies.js';
import { CacheWritePath1763800000018 } from './1763800000018-CacheWritePath.js';
import { CacheEndIndex1763800000019 } from './1763800000019-CacheEndIndex.js';
import { SyncNotBefore1763800000020 } from './1763800000020-SyncNotBefore.js';
import { SeedAssignmentsWithoutUsers1763800000021 } from './1763800000021-SeedAssignmentsWithoutUsers.js';
import { ChannelSecretFingerprint1763800000022 } from './1763800000022-ChannelSecretFingerprint.js';
import { WebhookEndpointBackoff1763800000023 } from './1763800000023-WebhookEndpointBackoff.js';
import { HostEventConsumerBackoff1763800000024 } from './1763800000024-HostEventConsumerBackoff.js';

/** Every migration, in order. The app and the TypeORM CLI both read this list. */
export const MIGRATIONS = [
  InitialSchema1763800000000,
  QueueWorkerHeartbeat1763800000001,
  CacheCoverage1763800000002,
  CacheVersion1763800000003,
  ChannelLifecycle1763800000004,
  UserTeamAncestry1763800000006,
  QueueWorkerBackend1763800000010,
  SyncHolds1763800000011,
  HostEvents1763800000012,
  HostIntegrationKeysAndOAuthFlows1763800000013,
  ScheduledTaskTicks1763800000014,
  ChangeOrdering1763800000015,
  SyncPreferences1763800000016,
  ConflictPolicies1763800000017,
  CacheWritePath1763800000018,
  CacheEndIndex1763800000019,
  SyncNotBefore1763800000020,
  SeedAssignmentsWithoutUsers1763800000021,
  ChannelSecretFingerprint1763800000022,
  WebhookEndpointBackoff1763800000023,
  HostEventConsumerBackoff1763800000024,
];
