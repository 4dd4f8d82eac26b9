"""Roles are Django groups; these are their names, fixed by a data migration."""

SOCIAL_WORKER = "Social worker"
TEAM_MANAGER = "Team manager"
PRACTICE_SUPERVISOR = "Practice supervisor"
SERVICE_MANAGER = "Service manager"
BUSINESS_SUPPORT = "Business support"
# Information governance officers read the access log: who looked at which child.
INFORMATION_GOVERNANCE = "Information governance"
# System administrators manage users, roles, teams, agencies and closure days.
SYSTEM_ADMINISTRATOR = "System administrator"

ALL_ROLES = [
    SOCIAL_WORKER,
    TEAM_MANAGER,
    PRACTICE_SUPERVISOR,
    SERVICE_MANAGER,
    BUSINESS_SUPPORT,
    INFORMATION_GOVERNANCE,
    SYSTEM_ADMINISTRATOR,
]
MANAGER_ROLES = {TEAM_MANAGER, SERVICE_MANAGER}
