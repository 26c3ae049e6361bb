import type { RulesFile } from '../ability';
import { auditRules } from './audit.rules';
import { organisationRules } from './organisation.rules';
import { profileRules } from './profile.rules';
import { releaseRules } from './release.rules';
import { userRules } from './user.rules';

/** One rules file per subject. A subject with no file here is closed to everyone. */
export const RULES: RulesFile[] = [profileRules, organisationRules, userRules, auditRules, releaseRules];
