"""The postgresql role's plan for the app's roles: the owner logs in itself until a rotation,
then two member logins are used in turn, every other login of the owner's is revoked, and a
password reaches the server only as a SCRAM verifier."""

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

logins = role_plugin("postgresql", "filter_plugins", "logins")
scram = role_plugin("postgresql", "filter_plugins", "scram")

OWNER = "voicenote"
# Test data, not secrets.
OLD, NEW = "old-password", "new-password"


def role(password="", login=True, member=False, settings=None, superuser=False):
    return {
        "login": login,
        "super": superuser,
        "verifier": scram.scram_sha256_verifier(password) if password else "",
        "member": member,
        "settings": settings,
    }


def plan(found, login, password, kept="", kept_password=""):
    return logins.postgresql_login_statements(
        found, OWNER, [{"name": login, "password": password},
                       {"name": kept, "password": kept_password}]
    )  # fmt: skip


def test_a_fresh_server_gets_the_owner_logging_in_itself():
    (statement,) = plan({}, OWNER, OLD)
    assert statement.startswith(f'CREATE ROLE "{OWNER}" LOGIN NOSUPERUSER')
    assert OLD not in statement and "SCRAM-SHA-256$4096:" in statement


def test_nothing_to_do_when_the_server_holds_what_is_asked():
    assert plan({OWNER: role(OLD)}, OWNER, OLD) == []
    found = {OWNER: role(login=False),
             "voicenote_a": role(NEW, member=True, settings=["role=voicenote"])}  # fmt: skip
    assert plan(found, "voicenote_a", NEW) == []


def test_a_rotation_adds_a_member_login_and_keeps_the_one_in_use():
    statements = plan({OWNER: role(OLD)}, "voicenote_a", NEW, OWNER, OLD)
    assert statements[0].startswith('CREATE ROLE "voicenote_a" LOGIN')
    assert statements[0].endswith(f'IN ROLE "{OWNER}";')
    assert statements[1:] == [f'ALTER ROLE "voicenote_a" SET role = "{OWNER}";']
    assert not any("NOLOGIN" in statement for statement in statements)


def test_the_revoke_leaves_only_the_new_login():
    found = {OWNER: role(OLD), "voicenote_a": role(NEW, member=True, settings=["role=voicenote"])}
    assert plan(found, "voicenote_a", NEW) == [f'ALTER ROLE "{OWNER}" NOLOGIN PASSWORD NULL;']


def test_the_next_rotation_reuses_the_other_login_with_a_new_password():
    found = {
        OWNER: role(login=False),
        "voicenote_a": role(login=False, member=True, settings=["role=voicenote"]),
        "voicenote_b": role(OLD, member=True, settings=["role=voicenote"]),
    }
    (statement,) = plan(found, "voicenote_a", NEW, "voicenote_b", OLD)
    assert statement.startswith('ALTER ROLE "voicenote_a" LOGIN NOSUPERUSER')
    assert "PASSWORD 'SCRAM-SHA-256$" in statement


def test_a_login_that_drifted_is_brought_back():
    found = {OWNER: role(login=False), "voicenote_a": role(NEW, superuser=True)}
    statements = plan(found, "voicenote_a", NEW)
    assert statements == [
        statements[0],
        f'GRANT "{OWNER}" TO "voicenote_a";',
        f'ALTER ROLE "voicenote_a" SET role = "{OWNER}";',
    ]
    assert statements[0].startswith('ALTER ROLE "voicenote_a" LOGIN NOSUPERUSER')


def test_a_missing_owner_is_made_without_a_login_when_members_log_in():
    statements = plan({}, "voicenote_b", NEW)
    assert statements[0] == f'CREATE ROLE "{OWNER}" NOLOGIN;'
    assert statements[1].startswith('CREATE ROLE "voicenote_b" LOGIN')


def test_roles_outside_the_owners_members_are_left_alone():
    found = {OWNER: role(OLD), "analyst": role("x")}
    assert plan(found, OWNER, OLD) == []


def test_names_are_quoted_as_identifiers():
    assert logins.quote_identifier('a"; DROP ROLE x; --') == '"a""; DROP ROLE x; --"'
