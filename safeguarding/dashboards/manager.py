"""The team manager's dashboard, and the service manager's across all teams."""

urlpatterns: list = []
