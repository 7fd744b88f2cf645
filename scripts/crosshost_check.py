"""Check that no sticky sessions are needed: what one host starts or counts holds on another (docs/LOADTEST.md).

    .venv-load/bin/python scripts/crosshost_check.py http://127.0.0.1:8001 http://127.0.0.1:8002 \\
        --data /tmp/crm-loadtest/data.json

Both addresses must be separate servers (scripts/crosshost_check.sh starts two gunicorns, "host A" and "host B", on one
PostgreSQL database and one Redis). Accounts and passwords come from scripts/loadtest_setup.py's file. Checks:

1. a session signed in on A is signed in on B;
2. a form (CSRF token and row version) fetched from A is accepted when posted to B, and the change is saved;
3. failed sign-ins made alternately on A and on B add up: after the limit (CRM_LOGIN_FAILURES) the user name is
   locked on both, and the right password is refused (429) on each host;
4. signing out on A ends the session on B too, even for a copy of the cookie taken before signing out;
5. one account signed in at the same moment on A and on B (two devices, or two tabs behind the balancer) gets in
   on both.

Exit status 0 when every check holds, 1 otherwise; each check prints PASS or FAIL with what was seen.
"""
import argparse
import json
import re
import sys
import time

import requests

results = []


def check(label: str, ok: bool, seen: str) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {label}: {seen}")


def token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if found is None:
        raise SystemExit("no csrf_token on the page")
    return found.group(1)


def sign_in(client: requests.Session, host: str, username: str, password: str) -> requests.Response:
    page = client.get(f"{host}/login")
    return client.post(f"{host}/login", data={"username": username, "password": password,
                                              "csrf_token": token(page.text), "next": ""}, allow_redirects=False)


def signed_in(client_or_cookies, host: str) -> tuple[bool, str]:
    """Whether /admin/customer/ answers as a signed-in page on `host` (rather than a redirect to the sign-in form)."""
    if isinstance(client_or_cookies, requests.Session):
        response = client_or_cookies.get(f"{host}/admin/customer/", allow_redirects=False)
    else:
        response = requests.get(f"{host}/admin/customer/", cookies=client_or_cookies, allow_redirects=False)
    where = response.headers.get("Location", "")
    return response.status_code == 200 and "/logout" in response.text, f"HTTP {response.status_code} {where}".strip()


def form_fields(html: str) -> dict:
    """The fields of the edit form that matter here; the rest are posted as the form shows them."""
    import html as html_lib
    form = html[html.index('class="admin-form"'):]
    form = form[:form.index("</form>")]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if name is None or (kind and kind.group(1) in ("submit", "button", "checkbox", "radio")):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = html_lib.unescape(value.group(1)) if value else ""
    for attrs, body in re.findall(r"<select([^>]*)>(.*?)</select>", form, re.S):
        name = re.search(r'name="([^"]+)"', attrs)
        options = re.findall(r"<option([^>]*)>", body)
        chosen = [re.search(r'value="([^"]*)"', o) for o in options if "selected" in o]
        if not chosen and "multiple" not in attrs and options:
            chosen = [re.search(r'value="([^"]*)"', options[0])]
        if name is not None:
            fields[name.group(1)] = [html_lib.unescape(c.group(1)) for c in chosen if c]
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = html_lib.unescape(body.removeprefix("\r\n").removeprefix("\n"))
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host_a")
    parser.add_argument("host_b")
    parser.add_argument("--data", default="/tmp/crm-loadtest/data.json")
    parser.add_argument("--failures", type=int, default=10, help="the per-name limit in force (CRM_LOGIN_FAILURES)")
    args = parser.parse_args()
    a, b = args.host_a.rstrip("/"), args.host_b.rstrip("/")
    info = json.load(open(args.data, encoding="utf-8"))
    user, locked = info["cross_host"]["session"], info["cross_host"]["lockout"]
    passwords = info["passwords"]
    customer = info["slots"][0]["edit_ids"][0]

    # 1. a session from A on B
    client = requests.Session()
    response = sign_in(client, a, user, passwords[user])
    check("sign in on A", response.status_code == 302, f"HTTP {response.status_code}")
    ok, seen = signed_in(client, b)
    check("A's session cookie is signed in on B", ok, seen)

    # 2. a form from A posted to B
    edit = f"/admin/customer/edit/?id={customer}"
    page = client.get(f"{a}{edit}")
    fields = form_fields(page.text)
    note = f"cross-host check {time.time():.3f}"
    fields["notes"] = note
    response = client.post(f"{b}{edit}", data=fields, allow_redirects=False)
    location = response.headers.get("Location", "")
    check("edit form (CSRF token, row version) from A accepted by B", response.status_code == 302
          and "/edit/" not in location, f"HTTP {response.status_code} -> {location}")
    details = client.get(f"{a}/admin/customer/details/?id={customer}")
    check("the change saved through B shows on A", note in details.text, f"notes {'found' if note in details.text else 'missing'}")

    # 3. failed sign-ins counted across hosts
    statuses = []
    for attempt in range(args.failures):
        host = a if attempt % 2 == 0 else b
        statuses.append(sign_in(requests.Session(), host, locked, "wrong-" + str(attempt)).status_code)
    check(f"{args.failures} wrong passwords for {locked}, alternately on A and B, all answered",
          all(s == 200 for s in statuses), f"statuses {statuses}")
    for name, host in (("A", a), ("B", b)):
        response = sign_in(requests.Session(), host, locked, passwords[locked])
        check(f"then the right password is refused on {name} (locked)", response.status_code == 429,
              f"HTTP {response.status_code}, Retry-After {response.headers.get('Retry-After')}")

    # 4. signing out on A ends the session on B, even for a copy of the cookie
    copied = requests.utils.dict_from_cookiejar(client.cookies)
    ok, seen = signed_in(copied, b)
    check("a copy of the session cookie works on B before signing out", ok, seen)
    page = client.get(f"{a}/admin/")
    response = client.post(f"{a}/logout", data={"csrf_token": token(page.text)}, allow_redirects=False)
    check("sign out on A", response.status_code == 302, f"HTTP {response.status_code}")
    ok, seen = signed_in(copied, b)
    check("the copied cookie no longer works on B after signing out on A", not ok, seen)
    ok, seen = signed_in(copied, a)
    check("nor on A", not ok, seen)

    # 5. simultaneous sign-ins of one account on both hosts
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda host: sign_in(requests.Session(), host, user, passwords[user]).status_code,
                                 [a, b, a, b]))
    check("4 simultaneous sign-ins of one account (2 on A, 2 on B) all succeed", statuses == [302] * 4,
          f"statuses {statuses}")

    print(f"\n{sum(results)} of {len(results)} checks passed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
