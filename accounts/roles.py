"""Roles are Django groups; these are their names, fixed by a data migration."""

SOCIAL_WORKER = "Social worker"
TEAM_MANAGER = "Team manager"
PRACTICE_SUPERVISOR = "Practice supervisor"
SERVICE_MANAGER = "Service manager"
BUSINESS_SUPPORT = "Business support"

ALL_ROLES = [SOCIAL_WORKER, TEAM_MANAGER, PRACTICE_SUPERVISOR, SERVICE_MANAGER, BUSINESS_SUPPORT]
MANAGER_ROLES = {TEAM_MANAGER, SERVICE_MANAGER}
