import { Foundation1764000000000 } from './1764000000000-foundation';
import { PatientData1764000001000 } from './1764000001000-patient-data';
import { SourcesAndObjections1764000002000 } from './1764000002000-sources-and-objections';
import { Extracts1764000003000 } from './1764000003000-extracts';
import { Linkage1764000004000 } from './1764000004000-linkage';
import { Governance1764000005000 } from './1764000005000-governance';
import { Releases1764000006000 } from './1764000006000-releases';
import { ReleaseShards1764000007000 } from './1764000007000-release-shards';
import { ChangeNotify1764000008000 } from './1764000008000-change-notify';
import { AuthTruncateNotify1764000009000 } from './1764000009000-auth-truncate-notify';
import { DropRedundantPatientIndex1764000010000 } from './1764000010000-drop-redundant-patient-index';
import { PatientRegistrations1764000011000 } from './1764000011000-patient-registrations';
import { AuditDenialCounters1764000012000 } from './1764000012000-audit-denial-counters';
import { RoleGrants1764000013000 } from './1764000013000-role-grants';
import { ObjectionInstants1764000014000 } from './1764000014000-objection-instants';
import { LinkageType1Keys1764000017000 } from './1764000017000-linkage-type1-keys';
import { SourceKeysAndCodes1764000016000 } from './1764000016000-source-keys-and-codes';
import { LocationQuasiIdentifiers1764000018000 } from './1764000018000-location-quasi-identifiers';
import { IdempotencyKeys1764000022000 } from './1764000022000-idempotency-keys';
import { ReleaseLedger1764000023000 } from './1764000023000-release-ledger';
import { ShardLeases1764000021000 } from './1764000021000-shard-leases';
import { LinkageDemographicEvidence1764000020000 } from './1764000020000-linkage-demographic-evidence';
import { OneNormaliser1764000025000 } from './1764000025000-one-normaliser';
import { Transparency1764000031000 } from './1764000031000-transparency';
import { AuditPosition1764000032000 } from './1764000032000-audit-position';
import { RegisterLogDecisions1764000034000 } from './1764000034000-register-log-decisions';
import { DropReleaseRegisterLines1764000039000 } from './1764000039000-drop-release-register-lines';
import { PatientAddressHistory1764000042000 } from './1764000042000-patient-address-history';
import { CatalogRegisterNotify1764000043000 } from './1764000043000-catalog-register-notify';
import { OrganisationsNotifyBids1764000044000 } from './1764000044000-organisations-notify-bids';
import { ReleaseSerialWork1764000045000 } from './1764000045000-release-serial-work';
import { SocialCareClientNhs1764000047000 } from './1764000047000-social-care-client-nhs';
import { ObjectionSeconds1764000048000 } from './1764000048000-objection-seconds';
import { ReleaseLedgerMembers1764000049000 } from './1764000049000-release-ledger-members';
import { UnlinkedRowsByNhs1764000050000 } from './1764000050000-unlinked-rows-by-nhs';
import { BidsSubmitted1764000051000 } from './1764000051000-bids-submitted';
import { WithdrawalAuthority1764000052000 } from './1764000052000-withdrawal-authority';
import { OrganisationNamesFolded1764000053000 } from './1764000053000-organisation-names-folded';
import { BidFallbackDimensions1764000054000 } from './1764000054000-bid-fallback-dimensions';
import { AggregateCellsHeld1764000055000 } from './1764000055000-aggregate-cells-held';
import { CohortIndexes1764000038000 } from './1764000038000-cohort-indexes';
import { AggregateCellLedger1764000036000 } from './1764000036000-aggregate-cell-ledger';
import { Notifications1764000037000 } from './1764000037000-notifications';
import { BidAmendments1764000035000 } from './1764000035000-bid-amendments';
import { RegistrationsAtSpanEnd1764000056000 } from './1764000056000-registrations-at-span-end';
import { WithdrawalsAtEnglandMidnight1764000057000 } from './1764000057000-withdrawals-at-england-midnight';
import { WithdrawalsRetracted1764000058000 } from './1764000058000-withdrawals-retracted';
import { ObjectionsAtReceived1764000059000 } from './1764000059000-objections-at-received';
import { ObjectionResourceIds1764000060000 } from './1764000060000-objection-resource-ids';
import { NhsNumberAliases1764000061000 } from './1764000061000-nhs-number-aliases';
import { ObjectionEntriesByResource1764000062000 } from './1764000062000-objection-entries-by-resource';
import { AgreementReleasesFrom1764000063000 } from './1764000063000-agreement-releases-from';
import { LedgerLeaversWithheld1764000064000 } from './1764000064000-ledger-leavers-withheld';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list works compiled, in
 * the tests and from the CLI. Never edit a migration once it has landed; add a new one.
 */
export const MIGRATIONS = [
  Foundation1764000000000,
  PatientData1764000001000,
  SourcesAndObjections1764000002000,
  Extracts1764000003000,
  Linkage1764000004000,
  Governance1764000005000,
  Releases1764000006000,
  ReleaseShards1764000007000,
  ChangeNotify1764000008000,
  AuthTruncateNotify1764000009000,
  DropRedundantPatientIndex1764000010000,
  PatientRegistrations1764000011000,
  AuditDenialCounters1764000012000,
  RoleGrants1764000013000,
  ObjectionInstants1764000014000,
  SourceKeysAndCodes1764000016000,
  LinkageType1Keys1764000017000,
  LocationQuasiIdentifiers1764000018000,
  LinkageDemographicEvidence1764000020000,
  ShardLeases1764000021000,
  IdempotencyKeys1764000022000,
  ReleaseLedger1764000023000,
  OneNormaliser1764000025000,
  Transparency1764000031000,
  AuditPosition1764000032000,
  RegisterLogDecisions1764000034000,
  BidAmendments1764000035000,
  AggregateCellLedger1764000036000,
  Notifications1764000037000,
  CohortIndexes1764000038000,
  DropReleaseRegisterLines1764000039000,
  PatientAddressHistory1764000042000,
  CatalogRegisterNotify1764000043000,
  OrganisationsNotifyBids1764000044000,
  ReleaseSerialWork1764000045000,
  SocialCareClientNhs1764000047000,
  ObjectionSeconds1764000048000,
  ReleaseLedgerMembers1764000049000,
  UnlinkedRowsByNhs1764000050000,
  BidsSubmitted1764000051000,
  WithdrawalAuthority1764000052000,
  OrganisationNamesFolded1764000053000,
  BidFallbackDimensions1764000054000,
  AggregateCellsHeld1764000055000,
  RegistrationsAtSpanEnd1764000056000,
  WithdrawalsAtEnglandMidnight1764000057000,
  WithdrawalsRetracted1764000058000,
  ObjectionsAtReceived1764000059000,
  ObjectionResourceIds1764000060000,
  NhsNumberAliases1764000061000,
  ObjectionEntriesByResource1764000062000,
  AgreementReleasesFrom1764000063000,
  LedgerLeaversWithheld1764000064000,
];
