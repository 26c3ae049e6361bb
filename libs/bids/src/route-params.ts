import { Param, ParseIntPipe } from '@nestjs/common';
import { ParseUUIDPipe } from '@custodian/core';

/** The path parameters of the routes under `bids/:id` (the applicant's and the reviewers'). */

/** `:id`, a bid's id (a UUID, else 400). */
export const BidIdParam = () => Param('id', ParseUUIDPipe);

/** `:version`, a bid version's number (an integer, else 400). */
export const VersionParam = () => Param('version', ParseIntPipe);
