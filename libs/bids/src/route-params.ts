import { Param } from '@nestjs/common';
import { ParsePositiveIntPipe, ParseUUIDPipe } from '@custodian/core';

/** The path parameters of the routes under `bids/:id` (the applicant's and the reviewers'). */

/** `:id`, a bid's id (a UUID, else 400). */
export const BidIdParam = () => Param('id', ParseUUIDPipe);

/** `:version`, a bid version's number (a decimal whole number of at least 1, else 400). */
export const VersionParam = () => Param('version', ParsePositiveIntPipe);
