from accounts import roles


def test_it_gives_each_user_a_team_and_a_role(worker, team):
    assert worker.team == team
    assert worker.has_role(roles.SOCIAL_WORKER)
    assert not worker.is_manager
