import type { RulesFile } from './types';
import { auditRules } from './audit.rules';
import { bidRules } from './bid.rules';
import { datasetRules } from './dataset.rules';
import { organisationRules } from './organisation.rules';
import { extractRules } from './extract.rules';
import { notificationRules } from './notification.rules';
import { objectionRules } from './objection.rules';
import { practiceRules } from './practice.rules';
import { profileRules } from './profile.rules';
import { releaseRules } from './release.rules';
import { roleGrantRules } from './role-grant.rules';
import { sourceRules } from './source.rules';
import { userRules } from './user.rules';

/** One rules file per subject. A subject with no file here is closed to everyone. */
export const RULES: RulesFile[] = [
  profileRules,
  organisationRules,
  userRules,
  roleGrantRules,
  auditRules,
  datasetRules,
  bidRules,
  sourceRules,
  practiceRules,
  extractRules,
  objectionRules,
  releaseRules,
  notificationRules,
];
