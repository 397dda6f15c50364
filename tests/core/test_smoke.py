"""The app starts on each backend and a signed-in user reaches the partner list."""


def test_signed_in_manager_sees_partner_list(client, login_as, make_partner):
    user = login_as("manager")
    make_partner(name="ООО Ромашка", responsible=user)
    response = client.get("/partners/")
    assert response.status_code == 200
    assert "ООО Ромашка" in response.get_data(as_text=True)
