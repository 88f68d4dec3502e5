"""Authentication everywhere except the login page and /healthz."""


def test_login_page_renders_without_login(client, db):
    response = client.get("/login/")

    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()
    assert 'for="id_username"' in response.content.decode()


def test_pages_redirect_anonymous_users_to_login(client, db):
    response = client.get("/admin/")

    assert response.status_code == 302


def test_clinician_can_sign_in(client, clinician):
    response = client.post("/login/", {"username": "alice", "password": "password"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clinician.pk)
