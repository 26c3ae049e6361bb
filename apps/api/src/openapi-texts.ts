/**
 * A summary and a description of every operation, in the API's own words, keyed by
 * `METHOD /path` as the OpenAPI document names it. A route whose decorators give its own
 * (`@ApiOperation`) keeps them; `test/openapi-document.e2e-spec.ts` fails on an operation that has
 * neither, so a new route is documented with it.
 */
export const OPERATION_TEXTS: Record<string, [summary: string, description: string]> = {
  'GET /api/health': [
    'Liveness and database readiness',
    'Answers 200 `{status: "ok", database: "up"}` while the service can reach its database, else 503 with a code saying what is degraded. No sign-in needed.',
  ],
  'POST /api/auth/login': [
    'Sign in',
    'Exchanges an email and password for an access token (a Bearer token for every other route) and a refresh token. Repeated failures for one account or address are throttled (429 with `Retry-After`).',
  ],
  'POST /api/auth/refresh': [
    'Rotate the refresh token',
    'Exchanges a refresh token for a new token pair. Each refresh token works once: presenting one that was already used revokes the whole session family (REFRESH_TOKEN_REUSED).',
  ],
  'POST /api/auth/logout': [
    'Sign out',
    'Ends the current session: its access and refresh tokens stop working.',
  ],
  'GET /api/auth/me': [
    'Who am I',
    'The signed-in user: id, email, roles, organisation and (for a practice account) the ODS code it is bound to.',
  ],
  'POST /api/organisations': [
    'Create an organisation',
    'Administrators register an applicant or partner organisation and its kind; commercial organisations are flagged on the register and have a shorter maximum agreement term.',
  ],
  'GET /api/organisations': [
    'List organisations',
    'Every organisation the centre knows, for administrators.',
  ],
  'GET /api/organisations/{id}': ['Read an organisation', 'One organisation by id.'],
  'POST /api/users': [
    'Create a user',
    'Administrators create a user with roles; researchers belong to an organisation, practice accounts are bound to one practice. Roles that need a second approver are held as pending role grants.',
  ],
  'GET /api/users': ['List users', 'Users, optionally of one organisation.'],
  'GET /api/users/{id}': ['Read a user', 'One user by id (never the password hash).'],
  'PATCH /api/users/{id}': [
    'Change a user',
    'Change roles, display name, binding or disable a user. Disabling ends their sessions at once.',
  ],
  'GET /api/role-grants': [
    'Pending role grants',
    'Grants of privileged roles waiting for a second administrator, oldest first.',
  ],
  'POST /api/role-grants/{id}/approve': [
    'Approve a role grant',
    'A second administrator (neither the requester nor the grantee) approves a pending grant; the role takes effect.',
  ],
  'POST /api/role-grants/{id}/refuse': [
    'Refuse a role grant',
    'A second administrator refuses a pending grant.',
  ],
  'GET /api/audit': [
    'Read the audit trail',
    'Entries of the append-only, hash-chained audit trail, newest first, paged and filterable by bid, actor, action and time. Entries hold ids, counts, codes and states, never patient data.',
  ],
  'GET /api/audit/verify': [
    'Verify the audit chain',
    'Walks the whole chain and reports whether every entry links to its predecessor and hashes to its stored hash, and the first entry that does not.',
  ],
  'GET /api/datasets': [
    'The dataset catalogue',
    'The datasets (gp, hes, social_care), their fields with each field’s classification, the column names each tier gives the identifiers, and the aggregate dimensions.',
  ],
  'POST /api/bids': [
    'Create a bid',
    'A researcher drafts a data access request for their own organisation: purpose, legal basis, requested tier, datasets and fields from the catalogue, cohort, duration and recipients.',
  ],
  'GET /api/bids': [
    'List bids',
    'Bids the caller may see: researchers their organisation’s, reviewers those under review or decided. Paged, optionally by state.',
  ],
  'GET /api/bids/{id}': [
    'Read a bid',
    'One bid with its decision and agreement. Another organisation’s bid answers 404, as a bid that does not exist.',
  ],
  'PATCH /api/bids/{id}': ['Edit a bid', 'Edit a draft or returned bid of your organisation.'],
  'PUT /api/bids/{id}/cohort': [
    'Upload the consent cohort',
    'For a bid under consent: the consenting NHS numbers, one a line (`text/plain`), replacing any earlier file. Invalid lines are refused by line number, never by value.',
  ],
  'POST /api/bids/{id}/submit': [
    'Submit a bid',
    'Sends a draft or returned bid to the release officers for screening.',
  ],
  'POST /api/bids/{id}/withdraw': [
    'Withdraw a bid',
    'The applicant withdraws a bid at any state before approval.',
  ],
  'POST /api/bids/{id}/screen': [
    'Screen a submitted bid',
    'A release officer (not of the applicant organisation) accepts a submitted bid into panel review or returns it with remarks.',
  ],
  'POST /api/bids/{id}/votes': [
    'Vote on a bid',
    'A panel member votes approve (optionally at a lower tier, with conditions), reject or return, declaring any conflict of interest. A conflicted or applicant-organisation member is recused. At quorum the bid is decided.',
  ],
  'POST /api/bids/{id}/agreement/accept': [
    'Accept the data sharing agreement',
    'The applicant accepts the agreement of an approved bid; the bid becomes active and its term starts. When the agreement offered is an approved amendment’s new version (`DSA-…-v2`), accepting it brings the amendment into force: releases follow it from then on, and the earlier version is superseded.',
  ],
  'POST /api/bids/{id}/amendments': [
    'Amend an approved or active bid',
    'The applicant proposes a new version of the bid: new fields, another cohort, another term or other recipients, with a reason. Absent parts stay as in force; title, purpose, legal basis and tier are not amendable. The answer carries the field-by-field diff against the version in force and its scope (narrowing or widening). One open amendment at a time; the version in force stays in force meanwhile.',
  ],
  'GET /api/bids/{id}/amendments': [
    'A bid’s versions',
    'The version in force (once the bid has been amended) and every amendment, newest first, each with its diff against the version it amends. Drafts are shown to the applicant only.',
  ],
  'GET /api/bids/{id}/amendments/{version}': [
    'One amendment',
    'An amendment with its state, scope and field-by-field diff against the version it amends.',
  ],
  'PATCH /api/bids/{id}/amendments/{version}': [
    'Edit an amendment',
    'Edit a draft or returned amendment of your organisation; its diff and scope are recomputed.',
  ],
  'POST /api/bids/{id}/amendments/{version}/submit': [
    'Submit an amendment',
    'The applicant submits a draft or returned amendment for screening.',
  ],
  'POST /api/bids/{id}/amendments/{version}/withdraw': [
    'Withdraw an amendment',
    'The applicant withdraws an amendment before its approval; the version in force is untouched.',
  ],
  'POST /api/bids/{id}/amendments/{version}/screen': [
    'Screen an amendment',
    'A release officer accepts a submitted amendment into the panel’s review, returns it with remarks, or approves it alone when it only narrows what is in force (a widening one answers 409 AMENDMENT_WIDENS). An approval offers the agreement’s next version and writes the amendment’s register line.',
  ],
  'POST /api/bids/{id}/amendments/{version}/votes': [
    'Vote on an amendment',
    'A panel member votes on the change only (approve with conditions, reject or return), declaring any conflict of interest; the tier in force does not change. At quorum the amendment is decided: approval offers the agreement’s next version, rejection leaves the version in force as it is.',
  ],
  'POST /api/bids/{id}/revoke': [
    'Revoke an agreement',
    'An administrator revokes an approved or active bid’s agreement, with a reason: downloads stop at once and release files are destroyed.',
  ],
  'POST /api/bids/{id}/close': [
    'Close an agreement early',
    'The applicant ends an active agreement before its end date; release files are destroyed.',
  ],
  'GET /api/bids/{id}/events': [
    'A bid’s history',
    'Every state change of the bid with who, when and why. Applicants never see individual votes or internal notes.',
  ],
  'GET /api/register': [
    'The public release register',
    'One line per approved bid and per release: organisation and its kind, title and purpose, datasets, tier, legal basis, whether objections were applied and why not, agreement reference. JSON, or CSV with `?format=csv`. No sign-in needed.',
  ],
  'GET /api/register/public-key': [
    "The centre's register signing key",
    'The Ed25519 public key (PEM) that signs register checkpoints, and its key id. No sign-in needed.',
  ],
  'GET /api/register/checkpoint': [
    'A signed checkpoint of the register, now',
    'The audit chain and the register log, each as its length and head hash at this moment, signed with the centre key. `npm run cli -- verify-register --url <base>` checks it. No sign-in needed.',
  ],
  'GET /api/register/checkpoints': [
    'Every checkpoint kept',
    'The checkpoints kept with each release and once a day, oldest first (paged): each must extend the ones before. No sign-in needed.',
  ],
  'GET /api/register/log': [
    'The register log',
    "Each release line in order with its files (SHA-256 and sizes), its risk and linkage report under the small-number rule, its chain hashes and its audit entry's hash (paged). No sign-in needed.",
  ],
  'GET /api/register/audit-hashes': [
    'Audit chain hashes by position',
    "The audit chain's hashes from a position (hashes only, never an entry's content), to check a checkpoint's audit head. No sign-in needed.",
  ],
  'GET /api/statistics': [
    'Published turnaround and release statistics',
    'Per calendar month: requests received, decided, approved, rejected and returned; median and 90th percentile days from submission to screening and to decision, and from agreement to first release; releases by tier and legal basis; objections in force (rounded) and the share of each release population they removed. JSON, or CSV with `?format=csv`. No sign-in needed.',
  ],
  'GET /api/bids/{id}/clock': [
    "A request's clocks",
    'How long the request has been in its current stage and in total (from its first submission to the decision), in days and working days (Monday to Friday), against the published targets, and whether it is overdue. For whoever may read the request.',
  ],
  'GET /api/queue': [
    'My queue, overdue first',
    "A release officer's requests awaiting screening and a panel member's requests in review (never of their own organisation), each with its clocks, overdue first then longest waiting. Other roles: 403.",
  ],
  'GET /api/notifications': [
    'My notifications, newest first',
    "The caller's own notices (email notifications and their portal copies): subject, plain-text message, a link to the portal page, delivery state (`outbox` when the service sends no email), and whether read. `unread=true` lists the unread only; `unread` in the answer counts them. Any signed-in user; never another user's.",
  ],
  'POST /api/notifications/{id}/read': [
    'Mark a notification read',
    "Marks one of the caller's notices read (again: no change). Another user's notice, like an unknown id, is 404 NOTIFICATION_NOT_FOUND.",
  ],
  'POST /api/sources/hes': [
    'Load a HES admitted patient care file',
    'A data manager uploads a HES APC CSV (`text/csv`); each row is linked to a patient by the eight-step deterministic algorithm. Answers counts per linkage step, unlinked and rejected rows.',
  ],
  'POST /api/sources/social-care': [
    'Load a social-care file',
    'A data manager uploads a social-care CSV (`text/csv`), linked like HES rows. Answers counts per linkage step, unlinked and rejected rows.',
  ],
  'GET /api/sources/loads': [
    'List source loads',
    'Earlier HES and social-care loads and their linkage reports.',
  ],
  'GET /api/sources/loads/{id}': [
    'Read a source load',
    'One load’s linkage report, with its rejected rows (line numbers and reasons).',
  ],
  'POST /api/practices': [
    'Register a practice',
    'An administrator adds a GP practice by ODS code, with its rollout state.',
  ],
  'GET /api/practices': [
    'List practices',
    'Practices with their rollout state and awareness dates; a practice account sees its own.',
  ],
  'POST /api/practices/national-rollout': [
    'National rollout',
    'Moves every practice in rollout state `none` or `pilot_declined` to `national` in one step.',
  ],
  'GET /api/practices/{ods}': ['Read a practice', 'One practice by ODS code.'],
  'PATCH /api/practices/{ods}': [
    'Change a practice',
    'Rename a practice or move its rollout state (legal moves only).',
  ],
  'POST /api/practices/{ods}/awareness': [
    'Record patient awareness',
    'The practice records the day it started informing its patients; extracts are accepted once the awareness period has passed. It cannot be backdated; an administrator may correct it with a reason.',
  ],
  'POST /api/practices/{ods}/extracts': [
    'Upload an extract',
    'The practice uploads its extract as FHIR R4 NDJSON (`application/x-ndjson`). Patients with an active Type 1 objection are not stored; invalid lines are reported by line number and reason, the rest is stored. Re-sending the same extract adds nothing.',
  ],
  'GET /api/extracts/{id}': ['Read an extract report', 'The report of an earlier extract upload.'],
  'GET /api/practices/{ods}/extracts': [
    'List a practice’s extracts',
    'The extracts of one practice, newest first (at most 200), with their counts: the practice itself, admins and data managers. Another practice is 404.',
  ],
  'GET /api/objections/summary': [
    'Count the practice’s objections',
    'The calling practice’s counts: active objections of its patients or that it recorded, by type, and the entries it recorded, by action and source. No NHS numbers.',
  ],
  'POST /api/objections': [
    'Register or withdraw an objection',
    'A practice records a Type 1 or Type 2 objection by NHS number, or withdraws one it recorded or of a patient registered with it. A refused withdrawal answers as an unknown patient does.',
  ],
  'GET /api/releases/{id}': [
    'Read a release',
    'The state and progress of a release and, once completed, its files with rows, bytes and SHA-256. Staff also see the exact exclusion counts and the manifest.',
  ],
  'GET /api/releases/{id}/files/{name}': [
    'Download a release file',
    'A recipient downloads a file of a completed release while the agreement is in force, streamed; a `Range` header resumes a download (206). Every download is audited.',
  ],
  'POST /api/bids/{id}/releases': [
    'Request a release',
    'A release officer who did not vote on the bid queues a release of an active bid; it runs as a background job. Follow it with GET /api/releases/{id}.',
  ],
};

/**
 * A request example per body, that works against the demo service (`npm start` on an empty
 * database: the users below are its demo sign-ins, their passwords printed at start). Ids in paths
 * come from the answers of earlier calls.
 */
export const REQUEST_EXAMPLES: Record<string, unknown> = {
  'POST /api/auth/login': { email: 'researcher@leeds.example', password: '<password printed at start>' },
  'POST /api/auth/refresh': { refreshToken: '<refreshToken of the login answer>' },
  'POST /api/organisations': { name: 'University of York', kind: 'academic' },
  'POST /api/users': {
    email: 'second.auditor@custodian.example',
    password: 'a-long-passphrase-2026',
    displayName: 'Nina Auditor',
    roles: ['auditor'],
  },
  'PATCH /api/users/{id}': { displayName: 'Nina Auditor-Smith' },
  'POST /api/bids': {
    title: 'Statins and stroke in Leeds',
    purpose: 'Whether statin prescribing after a first stroke reduces a second stroke within five years.',
    publicBenefit: 'Evidence for secondary prevention guidance in primary care.',
    legalBasis: 'none',
    requestedTier: 'aggregate',
    datasets: [{ dataset: 'gp', fields: ['sex', 'code', 'event_date'] }],
    cohort: { practices: ['A81001', 'A81003'], eventsFrom: '2010-01-01', eventsTo: '2025-12-31' },
    aggregation: { dimensions: ['sex', 'age_band'] },
    durationMonths: 12,
  },
  'PATCH /api/bids/{id}': { title: 'Statins and recurrent stroke in Leeds' },
  'PUT /api/bids/{id}/cohort': '9434765919\n9434765870\n',
  'POST /api/bids/{id}/withdraw': { remarks: 'The study was not funded.' },
  'POST /api/bids/{id}/screen': { outcome: 'accept', remarks: 'Complete; to the panel.' },
  'POST /api/bids/{id}/votes': {
    decision: 'approve',
    conflictOfInterest: false,
    conditions: ['Publish the protocol'],
  },
  'POST /api/bids/{id}/revoke': { reason: 'Breach of the data sharing agreement' },
  'POST /api/bids/{id}/amendments': {
    reason: 'The study now needs event values and runs six months longer.',
    datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date', 'value'] }],
    durationMonths: 18,
  },
  'PATCH /api/bids/{id}/amendments/{version}': { durationMonths: 12 },
  'POST /api/bids/{id}/amendments/{version}/withdraw': { remarks: 'No longer needed.' },
  'POST /api/bids/{id}/amendments/{version}/screen': {
    outcome: 'accept',
    remarks: 'To the panel: it widens.',
  },
  'POST /api/bids/{id}/amendments/{version}/votes': { decision: 'approve', conflictOfInterest: false },
  'POST /api/bids/{id}/close': { remarks: 'The study has finished.' },
  'POST /api/sources/hes':
    'EPIKEY,NEWNHSNO,DOB,SEX,HOMEADD,ADMIDATE,DIAG_4_01,OPERTN_4_01,PROCODE\n100001,9434765919,1970-03-04,2,LS1 4AP,2015-06-01,I639,,RR8\n',
  'POST /api/sources/social-care':
    'LA_CODE,PERSON_ID,NHS_NUMBER,DOB,GENDER,POSTCODE,SERVICE_TYPE,START_DATE,END_DATE\nE08000035,P0001,9434765919,1970-03-04,F,LS1 4AP,home_care,2016-01-01,\n',
  'POST /api/practices': { odsCode: 'A81004', name: 'Park Lane Surgery', rollout: 'pilot' },
  'PATCH /api/practices/{ods}': { rollout: 'national' },
  'POST /api/practices/{ods}/awareness': { startedOn: '2026-01-05' },
  'POST /api/practices/{ods}/extracts':
    '{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1970-03-04","gender":"female","address":[{"postalCode":"LS1 4AP"}],"generalPractitioner":[{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"A81001"}}]}\n' +
    '{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"22298006"}]},"onsetDateTime":"2012-05-01"}\n',
  'POST /api/objections': { nhsNumber: '9434765919', type: 'type2', action: 'register' },
};
