"""Dashboards: the one place that composes several apps (DESIGN.md section 3).

`worker` is a social worker's "My work"; `manager` is the team manager's dashboard
and the service manager's view of every team side by side. Each module holds its
own queries (always scoped through accounts.policy), views and `urlpatterns`.
"""
