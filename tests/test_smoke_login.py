def test_an_administrator_can_sign_in_and_open_the_home_page(login_as):
    """Does the panel open for a signed-in administrator?"""
    client = login_as("administrator")
    page = client.get("/admin/")
    assert page.status_code == 200
    assert client.username in page.get_data(as_text=True)
